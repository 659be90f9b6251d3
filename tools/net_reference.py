#!/usr/bin/env python3
"""Reference outputs of the face networks, for the parity tests (tests/nets_reference.rs).

    pip install numpy onnx onnxruntime pillow
    python3 tools/net_reference.py [ONNX_DIR]      # default /tmp/mystyle-face-onnx (tools/build_face_models.py)

Each network gets a real face input made from an openpeople fixture crop, saved losslessly as PNG
(tests/fixtures/nets/<net>_input.png), so the Rust test feeds exactly the same pixels; onnxruntime's outputs
on it are saved in tests/fixtures/nets/<net>_output.safetensors. Normalization follows models.md and is
repeated in the test. Large outputs are subsampled (the indices are saved too).
"""
import pathlib
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import safetensors_np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "nets"
FACE = ROOT / "tests" / "fixtures" / "openpeople" / "P003" / "happy.jpg"


def run(onnx_dir, stem, x):
    session = ort.InferenceSession(str(onnx_dir / f"{stem}.onnx"), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})


def chw(img):
    return np.asarray(img, dtype=np.float32).transpose(2, 0, 1)[None]


def main():
    onnx_dir = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/mystyle-face-onnx")
    OUT.mkdir(parents=True, exist_ok=True)
    face = Image.open(FACE).convert("RGB")  # 256 x 256

    def save(net, img, outputs):
        img.save(OUT / f"{net}_input.png")
        safetensors_np.save(OUT / f"{net}_output.safetensors", outputs)
        print(net, {k: v.shape for k, v in outputs.items()})

    # YuNet: the 256px crop at the top-left of a black 640x640 canvas, BGR, 0..255.
    canvas = Image.new("RGB", (640, 640))
    canvas.paste(face, (0, 0))
    y = run(onnx_dir, "face_detection_yunet_2023mar_fp32", chw(canvas)[:, ::-1])
    names = ["cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32", "bbox_8", "bbox_16", "bbox_32", "kps_8", "kps_16", "kps_32"]
    save("yunet", canvas, {n: v[0] for n, v in zip(names, y)})

    # SFace: 112x112 RGB 0..255 (the network normalizes internally).
    img = face.resize((112, 112), Image.BILINEAR)
    save("sface", img, {"fc1": run(onnx_dir, "face_recognition_sface_2021dec_fp32", chw(img))[0]})

    # Age: 64x64 RGB, (x - mean) / 256.
    img = face.resize((64, 64), Image.BILINEAR)
    x = (chw(img) - np.array([122.782, 117.001, 104.298], dtype=np.float32)[None, :, None, None]) / 256.0
    save("age", img, {"probabilities": run(onnx_dir, "age-v1_batch1", x)[0]})

    # Expression: 64x64 grey, x / 127.5 - 1.
    img = face.convert("L").resize((64, 64), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32)[None, None] / 127.5 - 1.0
    save("expression", img.convert("RGB"), {"probabilities": run(onnx_dir, "fer_mini_xception_emotion", x)[0]})

    # FaceMesh: 192x192 RGB in [0, 1].
    img = face.resize((192, 192), Image.BILINEAR)
    mesh, presence = run(onnx_dir, "face_landmark", chw(img) / 255.0)
    save("face_mesh", img, {"mesh": mesh.reshape(1404), "presence": presence.reshape(1)})

    # Face parsing: 512x512 RGB, ImageNet mean/std; logits subsampled every 8th pixel.
    img = face.resize((512, 512), Image.BILINEAR)
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)[None, :, None, None]
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)[None, :, None, None]
    logits = run(onnx_dir, "bisenet_faceparsing_19cls", (chw(img) / 255.0 - mean) / std)[0]
    save("face_parsing", img, {"logits_every_8th": logits[0, :, ::8, ::8], "argmax": logits[0].argmax(0).astype(np.float32)[::4, ::4]})


if __name__ == "__main__":
    main()
