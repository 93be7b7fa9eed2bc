"""The optional compiled parts of caffemem (caffemem/logs/fast/_scan.c, the log scanner, and
caffemem/logs/_parselog.c, the parse_log.py drop-in's line loop); everything else is in setup.cfg.

The extensions are optional: where one does not build (no compiler, no Python headers) the install
goes on without it and its reader uses its pure-Python path, which gives the same results.
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that warns instead of failing when a C extension cannot be built."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # noqa: BLE001 - any build failure leaves the pure-Python path
            print(f"caffemem: the C log readers were not built ({error}); using the pure-Python readers")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001
            print(f"caffemem: {ext.name} was not built ({error}); using its pure-Python reader")


setup(
    ext_modules=[Extension("caffemem.logs.fast._scan", ["caffemem/logs/fast/_scan.c"], optional=True,
                           extra_compile_args=["-O2"]),
                 Extension("caffemem.logs._parselog", ["caffemem/logs/_parselog.c"], optional=True,
                           extra_compile_args=["-O2"])],
    cmdclass={"build_ext": OptionalBuildExt},
)
