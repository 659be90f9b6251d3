#!/usr/bin/env python3
"""Rebuild the face test photos under tests/fixtures/openpeople from the pinned PyPI package openpeople.

    pip install numpy pillow
    python3 tools/build_face_fixtures.py

openpeople (MIT licence) ships synthetic people: per person a 4x4 "emotions" sheet, a "character" sheet
(face and posture angles), a studio portrait and an amateur selfie. For persons P001..P006 this writes into
tests/fixtures/openpeople/P00N/ square 256x256 JPEG head crops (quality 90):
  the 16 emotions panels   neutral.jpg, happy.jpg, ... determined.jpg
  the face-angle panels    front_view.jpg, left_view.jpg, right_view.jpg   (the back view is skipped)
  the photos               studio_portrait.jpg, amateur_selfie.jpg
and tests/fixtures/openpeople/labels.json (every file with its person, source sheet and label, and per
person the metadata's age range, sex and hair description).

The sheets' panels are framed by white borders, with a caption under each; the panel layout differs a
little from person to person, so the frames are found in each sheet (near-white pixels projected onto
the columns give the vertical border lines; each line's white runs give the frames' vertical extent), and
only the photo inside the frame is used. Everything is read straight from the checksum-verified wheel.
"""
import io
import json
import pathlib
import shutil
import sys
import zipfile

import numpy as np
from PIL import Image

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import pinned  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "openpeople"
PERSONS = [f"P{i:03d}" for i in range(1, 7)]
SIZE = 256
QUALITY = 90
EMOTIONS = ["Neutral", "Happy", "Sad", "Angry",
            "Surprised", "Disgusted", "Scared", "Confused",
            "Smug", "Flirty", "Thoughtful", "Pensive",
            "Exhausted", "Shocked", "Playful", "Determined"]
FACE_ANGLES = ["Front View", "Left View", "Back View", "Right View"]  # top row of the character sheet
SKIP = {"Back View"}
WHITE = 200  # a pixel is near-white when all its channels exceed this (borders ~240+, photo backdrops ~130)
MARGIN = 3  # pixels kept clear inside a frame (JPEG ringing, anti-aliased border edges)


def member(person, name):
    return f"openpeople/data/curated/{person}/{name}"


def runs(flags):
    """[start, end) of each run of True in a 1-D bool array."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.where(d == 1)[0], np.where(d == -1)[0]))


def find_panels(img, cols, rows):
    """The photo rectangles (left, top, right, bottom; exclusive) inside the white frames of a sheet with a
    grid of `cols` x `rows` framed panels, row by row. Raises ValueError where that layout is not found."""
    a = np.asarray(img.convert("RGB"))
    white = a.min(axis=2) > WHITE
    h, w = white.shape
    # Candidate vertical border lines: narrow bands of columns that are white over much of the sheet's height
    # (white shirts can make some more; they are dropped below, since they frame nothing).
    lines = []
    for x0, x1 in runs(white.mean(axis=0) > 0.25):
        if 2 <= x1 - x0 <= 30:
            core = white[:, x0 + (x1 - x0) // 4: x1 - (x1 - x0) // 4].mean(axis=1) > 0.5
            # A border line is white from its frame's top outer edge to its bottom outer edge.
            lines.append((x0, x1, [r for r in runs(core) if r[1] - r[0] > h // 20]))
    frames = []
    for i, (l0, l1, left_runs) in enumerate(lines):
        for top, bottom in left_runs:
            # The nearest line to the right with a run over the same rows, joined by white top and bottom
            # borders, closes the frame.
            for r0, r1, right_runs in lines[i + 1:]:
                if not any(abs(t - top) <= 4 and abs(b - bottom) <= 4 for t, b in right_runs):
                    continue
                if r0 - l1 < w // (2 * cols):
                    continue  # too narrow for a panel (both sides of a white shirt)
                inside = top + 2 * (l1 - l0) + MARGIN  # just under the top border: the photo, not white
                if (white[top + 2, l1:r0].mean() > 0.95 and white[bottom - 3, l1:r0].mean() > 0.95
                        and white[inside, l1 + MARGIN:r0 - MARGIN].mean() < 0.5):
                    frames.append((l0, l1, r0, r1, top, bottom))
                    break
    frames.sort(key=lambda f: (f[4], f[0]))
    grid = []  # frames grouped into rows by their top edge
    for f in frames:
        if grid and abs(grid[-1][0][4] - f[4]) <= 20:
            grid[-1].append(f)
        else:
            grid.append([f])
    if [len(row) for row in grid] != [cols] * rows:
        raise ValueError(f"found frames in rows of {[len(row) for row in grid]}, expected {rows} rows of {cols}")
    panels = []
    for r, row in enumerate(grid):
        row.sort()
        for c, (l0, l1, r0, r1, top, bottom) in enumerate(row):
            # The top border is clean on both sides (backdrop under it), so its thickness is measured there;
            # the bottom one is taken to be as thick (a white shirt can touch it from inside), with a
            # double margin, since some are drawn a pixel or two thicker.
            inner = white[top:top + (bottom - top) // 4, l1 + MARGIN:r0 - MARGIN].mean(axis=1) > 0.9
            thick = runs(inner)[0][1] if inner[0] else 0
            if not 2 <= thick <= 4 * max(l1 - l0, r1 - r0):
                raise ValueError(f"panel ({c}, {r}): top border thickness {thick} not plausible")
            panels.append(tuple(int(v) for v in
                                (l1 + MARGIN, top + thick + MARGIN, r0 - MARGIN, bottom - thick - 2 * MARGIN)))
        widths = [p[2] - p[0] for p in panels[-cols:]]
        heights = [p[3] - p[1] for p in panels[-cols:]]
        if max(widths) - min(widths) > 8 or max(heights) - min(heights) > 8:  # within a row frames are alike
            raise ValueError(f"row {r}: panels of unequal size: widths {widths}, heights {heights}")
    return panels


def head_square(box):
    """The largest square in a panel that touches its top, horizontally centred."""
    left, top, right, bottom = box
    side = min(right - left, bottom - top)
    x = left + (right - left - side) // 2
    return (x, top, x + side, top + side)


def save(img, box, path):
    crop = img.crop(box).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    crop.save(path, "JPEG", quality=QUALITY)


def file_name(label):
    return label.lower().replace(" ", "_") + ".jpg"


def main():
    wheel = zipfile.ZipFile(pinned.openpeople_wheel())

    def image(person, name):
        return Image.open(io.BytesIO(wheel.read(member(person, f"assets/{name}.jpg")))).convert("RGB")

    OUT.mkdir(parents=True, exist_ok=True)  # README.md there is kept
    persons, images = {}, []
    for person in PERSONS:
        meta = json.loads(wheel.read(member(person, "metadata.json")))
        details = meta["character_details"]
        persons[person] = {"age_range": details["demographics"]["age_range"],
                           "sex": details["demographics"]["sex"],
                           "hair": details["visible_traits"]["hair"]["description"]}
        folder = OUT / person
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        crops = []  # (source, label, image, box)
        sheet = image(person, "emotions_sheet")
        for label, box in zip(EMOTIONS, find_panels(sheet, 4, 4)):
            crops.append(("emotions_sheet", label, sheet, head_square(box)))
        sheet = image(person, "character_sheet")
        for label, box in zip(FACE_ANGLES, find_panels(sheet, 4, 2)[:4]):
            if label not in SKIP:
                crops.append(("character_sheet", label, sheet, head_square(box)))
        photo = image(person, "studio_portrait")
        w, h = photo.size
        side = min(w, h)
        crops.append(("studio_portrait", "Studio Portrait", photo,
                      ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)))
        photo = image(person, "amateur_selfie")
        w, h = photo.size
        side = min(w, h)
        crops.append(("amateur_selfie", "Amateur Selfie", photo, ((w - side) // 2, 0, (w - side) // 2 + side, side)))
        for source, label, img, box in crops:
            path = folder / file_name(label)
            save(img, box, path)
            images.append({"person": person, "file": path.relative_to(OUT).as_posix(), "source": source,
                           "label": label})
    labels = {"package": pinned.OPENPEOPLE_PACKAGE, "wheel_sha256": pinned.OPENPEOPLE_WHEEL_SHA256,
              "licence": "MIT", "size": [SIZE, SIZE], "persons": persons, "images": images}
    (OUT / "labels.json").write_text(json.dumps(labels, indent=2) + "\n")
    files = [p for p in OUT.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"{len(images)} crops of {len(persons)} persons; {len(files)} files under "
          f"{OUT.relative_to(ROOT)}, {total} bytes ({total / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
