"""Builds python-reverb's one optional C extension, the compiled receive path.

Everything else is in pyproject.toml. ``src/reverb/_speedups.pyx`` is compiled with Cython when
a C compiler is there; if the build fails (or ``REVERB_NO_EXTENSIONS=1`` is set), the package
installs without it and runs the same code paths in pure Python (see docs/performance.md).
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = []
if os.environ.get("REVERB_NO_EXTENSIONS", "") in ("", "0"):
    extensions = cythonize(
        [Extension("reverb._speedups", ["src/reverb/_speedups.pyx"])],
        compiler_directives={"language_level": "3"},
        quiet=True,
    )
    for extension in extensions:
        extension.optional = True  # a failed compile skips it (cythonize does not carry this)

setup(ext_modules=extensions)
