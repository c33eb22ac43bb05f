"""Bad input through the CLI: each must exit non-zero with one clear line
naming the thing and the rule broken, never a crash."""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

from common import run, tmpdir


def expect_error(args, *needles):
    p = run(args, expect_ok=False)
    err = p.stderr.strip()
    lines = err.splitlines()
    ok = p.returncode == 1 and len(lines) == 1 and all(n in err for n in needles)
    print(f"{'ok  ' if ok else 'FAIL'} coinfer {' '.join(os.path.basename(a) for a in args)}: "
          f"rc={p.returncode}: {err}", flush=True)
    return ok


def expect_usage_error(args, *needles):
    """A flag the command line parser refuses (CLI11): its own exit code, and a
    first line naming the flag and the rule, then the pointer to --help."""
    p = run(args, expect_ok=False)
    first = (p.stderr.strip().splitlines() or [""])[0]
    ok = p.returncode > 1 and all(n in first for n in needles)
    print(f"{'ok  ' if ok else 'FAIL'} coinfer {' '.join(args)}: rc={p.returncode}: {first}",
          flush=True)
    return ok


def small_model(path, op="Relu"):
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 8, 8])
    node = helper.make_node(op, ["input"], ["output"], name="the_node")
    g = helper.make_graph([node], "g", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(m, path)


def main():
    results = []
    with tmpdir() as t:
        good = os.path.join(t, "good.onnx")
        small_model(good)
        x = os.path.join(t, "x.npy")
        np.save(x, np.random.RandomState(0).randn(1, 3, 8, 8).astype(np.float32))
        out = os.path.join(t, "y.npy")
        results.append(run(["infer", good, "--input", x, "--output", out]).returncode == 0)

        trunc = os.path.join(t, "trunc.onnx")
        data = open(os.path.join(t, "good.onnx"), "rb").read()
        # A model with weights, cut in half.
        run(["zoo", "export", "yolov2_tiny", "-o", os.path.join(t, "tiny.onnx")])
        big = open(os.path.join(t, "tiny.onnx"), "rb").read()
        open(trunc, "wb").write(big[: len(big) // 2])
        results.append(expect_error(["inspect", trunc], "trunc.onnx"))
        garbage = os.path.join(t, "garbage.onnx")
        open(garbage, "wb").write(os.urandom(4096))
        results.append(expect_error(["inspect", garbage], "garbage.onnx"))
        results.append(expect_error(["inspect", os.path.join(t, "missing.onnx")], "missing.onnx"))

        unknown = os.path.join(t, "unknown.onnx")
        small_model(unknown, op="GridSample")
        results.append(expect_error(["inspect", unknown], "the_node", "GridSample", "unsupported"))

        wrong = os.path.join(t, "wrong.npy")
        np.save(wrong, np.zeros((1, 3, 9, 8), np.float32))
        results.append(expect_error(["infer", good, "--input", wrong, "--output", out],
                                    "wrong.npy", "[1,3,9,8]", "[1,3,8,8]"))
        f64 = os.path.join(t, "f64.npy")
        np.save(f64, np.zeros((1, 3, 8, 8), np.float64))
        results.append(expect_error(["infer", good, "--input", f64, "--output", out],
                                    "f64.npy", "float32"))
        bad = os.path.join(t, "bad.npy")
        open(bad, "wb").write(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'")
        results.append(expect_error(["infer", good, "--input", bad, "--output", out], "bad.npy"))
        short = os.path.join(t, "short.npy")
        open(short, "wb").write(open(x, "rb").read()[:-40])
        results.append(expect_error(["infer", good, "--input", short, "--output", out],
                                    "short.npy", "bytes"))
        results.append(expect_error(["zoo", "export", "nosuchnet", "-o", out], "nosuchnet"))
        results.append(expect_error(["bench", "zoo:nosuchnet"], "nosuchnet"))
        # coinfer run: --plan or --adaptive, and the adaptive flags.
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        cl = os.path.join(src, "examples", "clusters", "local-4.json")
        results.append(run(["keygen", "-o", os.path.join(t, "coord")]).returncode == 0)
        key = os.path.join(t, "coord.key")
        base = ["run", "--model", "zoo:yolov2_tiny", "--cluster", cl, "--key", key]
        results.append(expect_error(base + ["--frames", "3"], "--plan", "--adaptive"))
        results.append(expect_error(base + ["--adaptive", "--plan", "p.json", "--frames", "3"],
                                    "--adaptive", "drop --plan"))
        results.append(expect_error(base + ["--adaptive"], "--frames", "--phases"))
        results.append(expect_error(base + ["--adaptive", "--phases", "10@2,x@y"],
                                    "--phases", "'x@y'", "FRAMES@RATE"))
        results.append(expect_error(base + ["--adaptive", "--phases", "10@0"], "'10@0'", "RATE > 0"))
        results.append(expect_error(base + ["--adaptive", "--frames", "3", "--heartbeat", "2",
                                            "--dead-after", "1"], "dead-after", "heartbeat"))
        results.append(expect_error(base + ["--adaptive", "--frames", "3", "--strategy", "nope"],
                                    "unknown strategy 'nope'"))
        # Profiles (version 2): one cut per block, 0 first; transport CPU in [0, 1e-3].
        prof = os.path.join(t, "tiny.profile.json")
        results.append(run(["profile", "device", "--model", "zoo:yolov2_tiny", "-o", prof,
                            "--points", "2", "--repeats", "1"]).returncode == 0)
        good_prof = json.load(open(prof))
        plan = ["plan", "--model", "zoo:yolov2_tiny", "--cluster", cl, "--strategy", "pico"]
        for field, value, needles in [
                ("cut_seconds", [0.0], ["cut_seconds", "has 1 entries", "must be equal"]),
                ("cut_seconds", None, ["cut_seconds: must be an array of numbers"]),
                ("cut_seconds", [0.0, "x"], ["cut_seconds: must be an array of numbers"]),
                ("io_seconds_per_byte", -1, ["io_seconds_per_byte=-1", "[0, 1e-3]"]),
                ("io_seconds_per_byte", "fast", ["io_seconds_per_byte: must be a number"])]:
            bad_prof = dict(good_prof)
            if value is None:
                del bad_prof[field]
            else:
                bad_prof[field] = value
            path = os.path.join(t, "bad.profile.json")
            json.dump(bad_prof, open(path, "w"))
            results.append(expect_error(plan + ["--profile", path], "bad.profile.json", *needles))
        cuts = list(good_prof["cut_seconds"])
        cuts[0] = 0.5
        json.dump(dict(good_prof, cut_seconds=cuts), open(path, "w"))
        results.append(expect_error(plan + ["--profile", path], "cut_seconds[0]=0.5"))
        # Interleaved pipelines: numbered 0, 1, ... together; each one whole.
        sim = ["simulate", "--model", "zoo:yolov2_tiny", "--cluster", cl, "--profile", prof, "--plan"]
        whole = lambda k, dev: {"pipeline": k, "blocks": [0, 15],
                                "parts": [{"device": dev, "rows": [0, 13]}]}
        short = {"pipeline": 1, "blocks": [0, 9], "parts": [{"device": "w1", "rows": [0, 26]}]}
        for stages, needles in [
                ([whole(0, "w0"), whole(2, "w1")],
                 ["stage 1: pipeline 2: pipelines must be numbered 0, 1, ...", "expected 0 or 1"]),
                ([whole(0, "w0"), short], ["pipeline 1 stage 1: blocks [0,9)",
                                          "the last stage must end at block 15"]),
                ([dict(whole(0, "w0"), pipeline=-1)], ["stages[0].pipeline=-1: must be >= 0"])]:
            path = os.path.join(t, "bad.plan.json")
            json.dump({"version": 1, "model": "yolov2_tiny", "stages": stages}, open(path, "w"))
            results.append(expect_error(sim + [path], *needles))
        # coinfer worker: models kept between deployments, 0 to 16.
        ep = ["worker", "--listen", "tcp://127.0.0.1:1", "--insecure"]
        results.append(expect_usage_error(ep + ["--keep-models", "17"], "--keep-models",
                                          "not in range 0 to 16"))
        results.append(expect_usage_error(ep + ["--keep-models", "-1"], "--keep-models",
                                          "not in range 0 to 16"))
        results.append(expect_usage_error(ep + ["--keep-models", "two"], "--keep-models"))
    if not all(results):
        sys.exit("some bad inputs were not reported clearly")


if __name__ == "__main__":
    main()
