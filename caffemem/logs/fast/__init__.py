"""The fast path of the log reader: private machinery, with one contract.

**Contract: for any file, reading it through this package gives the line path's result, byte for
byte** — the line path being every line classified by lines.py and fed to the run builder one by
one (``read_log(..., bulk=False)``): the same runs, nets, ends, counts and curve, down to the text
of each number (both keep what Caffe printed: ``1``, ``1.5e+06``; a value read line by line
carries its text in a ``PrintedFloat``). **However the file is read — line by line, by the
compiled scanner or the pure-Python bulk path, any piece size — ``caffemem log`` writes the same
bytes.** Speed is this package's only reason to exist; whatever it cannot do exactly as the
line path does, it hands to the line path. tests/logs and tests/logs/fast check the contract on
every shared log, the fixtures and generated logs.

- ``pieces``: the file cut into pieces of whole lines, the same pieces read front to back or at
  random;
- ``bulk``: stretches of plain training lines cut into columns of Caffe's number text;
- ``plain``: runs of lines of unknown kinds between them (prefetch, debug, LMDB lines), judged
  by their digit shape and applied in bulk (``RunBuilder.take_unknown``);
- ``render``: a stretch's columns encoded as the curve table's rows (for the run builder's
  ``take_rendered``);
- ``feed``: ``Feeder``, the one loop that feeds a file's events to the run builder, a stretch
  whole when the builder takes it, else line by line;
- ``scan``: the compiled scanner (``_scan.c``, optional): the lines a training run repeats applied
  in C up to the first line it is not sure of (``CAFFEMEM_NO_C=1`` turns it off);
- ``compiled``: the switch between the compiled module and pure Python (the curve's writers
  use the compiled module too: ``_scan.rewrite`` writes csv and JSON test rows from kept rows);

Nothing outside caffemem.logs imports from here. This module imports nothing, so that any of
the modules above can be imported on its own (reader.py uses ``pieces`` and ``bulk``).
"""
