"""OCFL 1.1: the store's record versions as an OCFL storage root, and back.

Partners and repositories that keep versioned preservation storage in the Oxford
Common File Layout (Fedora 6, ocfl-java, rocfl, ocfl-py) read what stook writes here:

* :mod:`~stook.ocfl.layout` -- the storage root: its declaration, the
  ``0004-hashed-n-tuple-storage-layout`` extension mapping identifiers to object paths;
* :mod:`~stook.ocfl.inventory` -- an object's inventory and its digest sidecar;
* :mod:`~stook.ocfl.bagfiles` -- a bag's files as a version's content (verified digests, copies);
* :mod:`~stook.ocfl.swap` -- updates that leave a valid root at every instant
  (staging, hard links, ``renameat2(RENAME_EXCHANGE)``);
* :mod:`~stook.ocfl.writer` -- ``stook export --format ocfl``: one object per record,
  one OCFL version per stook version;
* :mod:`~stook.ocfl.reader` -- ``stook import --from-ocfl``: each version rebuilt as
  the bag it was, verified, adopted by a store;
* :mod:`~stook.ocfl.rules` and :mod:`~stook.ocfl.validate` -- ``stook verify`` of a storage
  root or an object: the inventory's rules, then the files.

The mapping between a bag and an OCFL version is the simplest there is: the logical
state of version ``vN`` is the bag of stook version N, every file under its own path
relative to the bag (``bagit.txt``, ``bag-info.txt``, ``manifest-sha512.txt``,
``data/record.json``, ...). Materializing the state gives the bag back byte for byte.
"""

from __future__ import annotations
