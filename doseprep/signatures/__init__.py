"""Signatures on what leaves doseprep, by what they are signed with.

:mod:`~doseprep.signatures.worksheets` signs worksheet PDFs — a released record's with the
releasing person's certified key, everything else with the installation key as a draft — and
checks them (``doseprep verify``); :mod:`~doseprep.signatures.pades` writes the PAdES signature
itself (CMS with ``cryptography`` and ``asn1crypto``); :mod:`~doseprep.signatures.installation_key`
is the workstation's own key, which signs drafts and the audit checkpoints and vouches for no
person. People's keys, the sealed lab key that certifies them and the record signatures live in
the store (:mod:`doseprep.store.labca`, :mod:`doseprep.store.sign`).
"""
