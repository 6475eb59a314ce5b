"""Refreshes vendor/ from a checkout of FastAPI's repository: unmodified copies of the
chapters' docs_src and tests/test_tutorial folders, tests/utils.py (needs_py310...) and the
package markers they import through, and FastAPI's LICENSE.

    python vendor.py /path/to/fastapi   # then update the commit in README.md
"""

import fnmatch
import os
import shutil
import sys

from chapters import CHAPTERS

HERE = os.path.dirname(os.path.abspath(__file__))
VENDOR = os.path.join(HERE, "vendor")
SINGLE_FILES = ["LICENSE", "tests/__init__.py", "tests/utils.py", "tests/test_tutorial/__init__.py"]


def copy_folder(src_root, rel, exclude):
    for dirpath, dirnames, filenames in os.walk(os.path.join(src_root, rel)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if any(fnmatch.fnmatch(name, pattern) for pattern in exclude):
                continue
            src = os.path.join(dirpath, name)
            dst = os.path.join(VENDOR, os.path.relpath(src, src_root))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)


def main(src_root):
    shutil.rmtree(VENDOR, ignore_errors=True)
    for rel in SINGLE_FILES:
        os.makedirs(os.path.dirname(os.path.join(VENDOR, rel)), exist_ok=True)
        shutil.copyfile(os.path.join(src_root, rel), os.path.join(VENDOR, rel))
    for chapter in CHAPTERS:
        copy_folder(src_root, os.path.join("docs_src", chapter.docs), chapter.exclude)
        copy_folder(src_root, os.path.join("tests", "test_tutorial", chapter.tests), chapter.exclude)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
