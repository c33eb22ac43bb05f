// Band execution is exact on every zoo model: random block ranges and random
// row splits, each band fed only its needed input rows, are bit-identical to
// the whole-frame run (seeded; the seed is printed on failure).
#include <gtest/gtest.h>

#include "kernels/executor.h"
#include "test_util.h"
#include "zoo/zoo.h"

using namespace coinfer;

class BandZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(BandZoo, RandomSplitsBitIdentical) {
  auto g = zoo::build(GetParam(), 11);
  ASSERT_TRUE(g.ok()) << g.error();
  auto ex = kernels::Executor::create(std::move(g).value(), {kernels::Backend::Xnnpack, 2});
  ASSERT_TRUE(ex.ok()) << ex.error();
  test::check_random_bands(**ex, 1234, 12);
}

INSTANTIATE_TEST_SUITE_P(AllModels, BandZoo,
                         ::testing::Values("vgg16", "resnet18", "resnet34", "resnet50",
                                           "mobilenet_v2", "alexnet", "googlenet",
                                           "squeezenet1_0", "yolov2", "yolov2_tiny"));
