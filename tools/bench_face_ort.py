#!/usr/bin/env python3
"""The reference side of the face-pipeline benchmark: the same per-photo work in onnxruntime on the CPU.

    pip install numpy pillow onnxruntime
    python3 tools/build_face_models.py                    # writes the ONNX folder, /tmp/mystyle-face-onnx
    python3 tools/bench_face_ort.py --make-photos /tmp/bench-photos
    python3 tools/bench_face_ort.py --photo /tmp/bench-photos/photo_12mp.jpg [--iters 5] [--models DIR]

Per photo, as the app does it: decode the JPEG; detect faces with YuNet on a copy scaled to fit 640x640
(letterboxed at the top-left of a black square); FFHQ-align the best face to 256x256 from its 5 landmarks; run
age (64 RGB), expression (64 grey), FaceMesh (192), BiSeNet parsing (512) and SFace (112) once each on resizes of
the aligned face (the benchmark measures cost, not exact crop geometry). Sessions are created once, outside the
timed loop; one warm-up pass, then --iters timed passes. Prints one JSON line per stage (decode, detect, align,
attributes, total) with the median in milliseconds, then the process's peak RSS (the best face's box goes to stderr):
{"impl": "onnxruntime <ver> CPU (<T> threads)", "photo": "<name>", "stage": "...", "median_ms": ..}
{"impl": .., "photo": .., "stage": "peak_rss_mb", "value": ..}

--make-photos DIR writes photo_12mp.jpg (4000x3000) and photo_50mp.jpg (8688x5792): a grey gradient with the
P001 studio-portrait fixture upscaled to 1200 / 2400 px and pasted at (60% of the width, 20% of the height).
"""
import argparse
import json
import os
import pathlib
import resource
import statistics
import sys
import time

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/openpeople/P001/studio_portrait.jpg"
PHOTOS = {"photo_12mp.jpg": ((4000, 3000), 1200), "photo_50mp.jpg": ((8688, 5792), 2400)}
MODELS = {
    "yunet": "face_detection_yunet_2023mar_fp32.onnx",
    "age": "age-v1_batch1.onnx",
    "expression": "fer_mini_xception_emotion.onnx",
    "facemesh": "face_landmark.onnx",
    "parsing": "bisenet_faceparsing_19cls.onnx",
    "sface": "face_recognition_sface_2021dec_fp32.onnx",
}
DET_SIZE, SCORE_MIN, NMS_IOU = 640, 0.6, 0.3


def make_photos(out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    face = Image.open(FIXTURE).convert("RGB")
    for name, ((w, h), side) in PHOTOS.items():
        ramp = np.linspace(90, 170, w, dtype=np.float32)[None, :] + np.linspace(-20, 20, h, dtype=np.float32)[:, None]
        img = Image.fromarray(np.repeat(ramp[:, :, None], 3, axis=2).astype(np.uint8))
        img.paste(face.resize((side, side), Image.LANCZOS), (int(w * 0.6), int(h * 0.2)))
        img.save(out_dir / name, quality=92)
        print(f"{out_dir / name}: {w}x{h}, face {side}px at ({int(w * 0.6)}, {int(h * 0.2)})")


def nms(boxes, scores):
    """Greedy NMS on [x0, y0, x1, y1] boxes; returns the kept indices, best first."""
    order, keep = np.argsort(-scores), []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        lo = np.maximum(boxes[i, :2], boxes[rest, :2])
        hi = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
        order = rest[inter / (area[i] + area[rest] - inter + 1e-9) <= NMS_IOU]
    return keep


def detect(sess, img):
    """YuNet on img scaled to fit 640x640; returns the faces as (score, box x0y0x1y1, 5x2 landmarks) in photo pixels."""
    scale = min(DET_SIZE / img.width, DET_SIZE / img.height)
    small = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.BILINEAR)
    canvas = np.zeros((DET_SIZE, DET_SIZE, 3), np.float32)
    canvas[: small.height, : small.width] = np.asarray(small, np.float32)[:, :, ::-1]  # RGB -> BGR
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input": canvas.transpose(2, 0, 1)[None]})))
    boxes, scores, kps = [], [], []
    for s in (8, 16, 32):
        n = DET_SIZE // s
        row, col = np.divmod(np.arange(n * n, dtype=np.float32), n)
        score = np.sqrt(np.clip(out[f"cls_{s}"][0, :, 0] * out[f"obj_{s}"][0, :, 0], 0, None))
        b, k = out[f"bbox_{s}"][0], out[f"kps_{s}"][0].reshape(-1, 5, 2)
        cx, cy = (col + b[:, 0]) * s, (row + b[:, 1]) * s
        w, h = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
        boxes.append(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1))
        kps.append(np.stack([(col[:, None] + k[:, :, 0]) * s, (row[:, None] + k[:, :, 1]) * s], 2))
        scores.append(score)
    boxes, scores, kps = np.concatenate(boxes), np.concatenate(scores), np.concatenate(kps)
    sel = scores >= SCORE_MIN
    boxes, scores, kps = boxes[sel] / scale, scores[sel], kps[sel] / scale
    return [(float(scores[i]), boxes[i], kps[i]) for i in nms(boxes, scores)]


def ffhq_align(img, lm, size=256):
    """FFHQ quad from 5 landmarks in image order (left eye, right eye, nose, left mouth, right mouth)."""
    lm = lm.astype(np.float64)
    eye_avg = (lm[0] + lm[1]) / 2
    eye_to_eye = lm[1] - lm[0]
    eye_to_mouth = (lm[3] + lm[4]) / 2 - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    return img.transform((size, size), Image.QUAD, (quad + 0.5).flatten(), Image.BILINEAR)


def nchw(img, size, mean=0.0, std=1.0):
    x = (np.asarray(img.resize((size, size), Image.BILINEAR), np.float32) - np.float32(mean)) / np.float32(std)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def attributes(sess, face):
    grey = np.asarray(face.convert("L").resize((64, 64), Image.BILINEAR), np.float32) / 127.5 - 1
    feeds = {
        "age": {"images": nchw(face, 64, [122.782, 117.001, 104.298], 256.0)},
        "expression": {"input_1": grey[None, None]},
        "facemesh": {"input_1": nchw(face, 192, 0.0, 255.0)},
        "parsing": {"input": nchw(face, 512, np.array([0.485, 0.456, 0.406]) * 255, np.array([0.229, 0.224, 0.225]) * 255)},
        "sface": {"data": nchw(face, 112)},
    }
    return {name: sess[name].run(None, feed) for name, feed in feeds.items()}


def run_once(sess, photo):
    t = [time.perf_counter()]
    img = Image.open(photo)
    img = img.convert("RGB")
    t.append(time.perf_counter())
    faces = detect(sess["yunet"], img)
    t.append(time.perf_counter())
    if not faces:
        raise SystemExit(f"{photo}: no face detected")
    face = ffhq_align(img, faces[0][2])
    t.append(time.perf_counter())
    attributes(sess, face)
    t.append(time.perf_counter())
    return [(b - a) * 1e3 for a, b in zip(t, t[1:])] + [(t[-1] - t[0]) * 1e3], faces[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=pathlib.Path, default=pathlib.Path("/tmp/mystyle-face-onnx"))
    ap.add_argument("--photo", type=pathlib.Path)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--make-photos", type=pathlib.Path, metavar="DIR")
    args = ap.parse_args()
    if args.make_photos:
        return make_photos(args.make_photos)
    if not args.photo:
        ap.error("--photo or --make-photos is required")

    import onnxruntime as ort
    threads = os.cpu_count() or 1
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = {k: ort.InferenceSession(str(args.models / f), opts, providers=["CPUExecutionProvider"]) for k, f in MODELS.items()}
    impl = f"onnxruntime {ort.__version__} CPU ({threads} threads)"

    _, (score, box, _) = run_once(sess, args.photo)  # warm-up
    samples = [run_once(sess, args.photo)[0] for _ in range(args.iters)]
    head = {"impl": impl, "photo": args.photo.name}
    for i, stage in enumerate(["decode", "detect", "align", "attributes", "total"]):
        print(json.dumps({**head, "stage": stage, "median_ms": round(statistics.median(s[i] for s in samples), 2)}))
    print(json.dumps({**head, "stage": "peak_rss_mb", "value": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
    print(f"{args.photo.name}: best face score {score:.3f}, box {np.round(box).astype(int).tolist()}", file=sys.stderr)


if __name__ == "__main__":
    main()
