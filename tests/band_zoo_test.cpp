// Band execution is exact on every zoo model and fast backend: random block ranges and random
// row splits, each band fed only its needed input rows, are bit-identical to
// the whole-frame run (seeded; the seed is printed on failure).
#include <gtest/gtest.h>

#include "kernels/executor.h"
#include "test_util.h"
#include "zoo/zoo.h"

using namespace coinfer;

using kernels::Backend;

class BandZoo : public ::testing::TestWithParam<std::tuple<std::string, Backend>> {};

TEST_P(BandZoo, RandomSplitsBitIdentical) {
  auto [model, backend] = GetParam();
  auto g = zoo::build(model, 11);
  ASSERT_TRUE(g.ok()) << g.error();
  auto ex = kernels::Executor::create(std::move(g).value(), {backend, 2});
  ASSERT_TRUE(ex.ok()) << ex.error();
  test::check_random_bands(**ex, 1234, 12);
}

INSTANTIATE_TEST_SUITE_P(AllModels, BandZoo,
                         ::testing::Combine(::testing::Values("vgg16", "resnet18", "resnet34",
                                                              "resnet50", "mobilenet_v2", "alexnet",
                                                              "googlenet", "squeezenet1_0",
                                                              "yolov2", "yolov2_tiny"),
                                            ::testing::Values(Backend::Xnnpack, Backend::OneDnn)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" +
                                  kernels::backend_name(std::get<1>(info.param));
                         });
