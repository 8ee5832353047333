"""``doseprep worksheet``, ``labels`` and ``verify``: the documents from a request file.

``worksheet`` and ``labels`` take the same request and ``--protocol``/``--lab`` options as
``doseprep plan`` and write a PDF (the worksheet digitally signed with the installation's key: a
draft); ``labels`` can also write ZPL for a Zebra thermal printer. ``verify`` checks a signed
worksheet and exits 0 only when it is valid, saying whether it is a released worksheet signed by
the person who released it or a draft; ``--trust`` restricts it to the certificates given (a
missing file is an input error, exit 2). reportlab and pyHanko are imported only when these
commands run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from doseprep.cli.common import (
    FieldError,
    compute,
    warn_if_not_clinical,
    write_file,
)


def _cmd_worksheet(args: argparse.Namespace) -> int:
    from doseprep.documents.style import document_id, state_words
    from doseprep.documents.worksheet import render_worksheet
    from doseprep.signatures.worksheets import sign_pdf

    plan = compute(args, fresh_only=True)
    pdf = render_worksheet(plan, page_size=args.page_size)
    label = f"{document_id(plan, None)} {state_words(None)}"
    write_file(args.output, sign_pdf(pdf, document_id=label,
                                 location=plan.lab.name))
    warn_if_not_clinical(plan)
    sys.stdout.write(f"{args.output}\n")
    return 0


def _cmd_labels(args: argparse.Namespace) -> int:
    from doseprep.documents.labels import render_labels
    from doseprep.documents.zpl import render_zpl

    plan = compute(args, fresh_only=True)
    # Both rendered before either is written: a label that does not fit its stock in one of
    # them (a settings error naming the label size) leaves no file behind.
    labels = render_labels(plan)
    zpl = render_zpl(plan, dpi=args.dpi) if args.zpl else None
    write_file(args.output, labels)
    if args.zpl and zpl is not None:
        write_file(args.zpl, zpl)
    warn_if_not_clinical(plan)
    sys.stdout.write(f"{args.output}\n" + (f"{args.zpl}\n" if args.zpl else ""))
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    import json

    from doseprep.signatures.worksheets import verify_pdf

    try:
        data = Path(args.pdf).read_bytes()
    except OSError as exc:
        raise FieldError("pdf", f"{args.pdf}: cannot be read ({exc.strerror}).") from None
    result = verify_pdf(data, [Path(p) for p in args.trust])
    if args.json:
        json.dump({"valid": result.valid, "draft": result.draft, "signer": result.signer,
                   "signer_user_id": result.signer_user_id,
                   "signer_sha256": result.signer_fingerprint,
                   "document_id": result.document_id, "state": result.state,
                   "signed_at": result.signed_at.isoformat() if result.signed_at else None,
                   "problems": list(result.problems)}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    elif result.valid:
        who = (f"signed by {result.signer} — the person who released it (user "
               f"{result.signer_user_id}), with the key the lab certified"
               if not result.draft else
               f"a DRAFT, not a released worksheet: signed by {result.signer}, an "
               "installation's key")
        sys.stdout.write(f"VALID{' DRAFT' if result.draft else ''}: {args.pdf}\n"
                         f"  worksheet {result.document_id}, printed while "
                         f"the record was {result.state or '?'}\n"
                         f"  {who}\n"
                         f"  signer certificate SHA-256 {result.signer_fingerprint}\n"
                         f"  at {result.signed_at.isoformat() if result.signed_at else '?'}\n")
    else:
        sys.stdout.write(f"NOT VALID: {args.pdf}\n")
        if result.document_id:
            sys.stdout.write(f"  worksheet {result.document_id}\n")
        if result.signer_fingerprint:
            sys.stdout.write(f"  signer certificate SHA-256 {result.signer_fingerprint}\n")
        for problem in result.problems:
            sys.stdout.write(f"  - {problem}\n")
    return 0 if result.valid else 1


def register(sub: argparse._SubParsersAction,
             add_settings_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the document commands to the ``doseprep`` command line."""
    w = sub.add_parser("worksheet", help="write the preparation worksheet PDF")
    add_settings_options(w)
    w.add_argument("-o", "--output", required=True, metavar="FILE.pdf")
    w.add_argument("--page-size", choices=("letter", "a4"), default="letter")
    w.set_defaults(func=_cmd_worksheet)

    lab = sub.add_parser("labels", help="write the ISBT 128 bag label PDF (and ZPL)")
    add_settings_options(lab)
    lab.add_argument("-o", "--output", required=True, metavar="FILE.pdf")
    lab.add_argument("--zpl", metavar="FILE.zpl", help="also write the label as ZPL II")
    lab.add_argument("--dpi", type=int, choices=(203, 300, 600), default=203,
                     help="the thermal printer's resolution for --zpl (default 203)")
    lab.set_defaults(func=_cmd_labels)

    v = sub.add_parser("verify", help="check the digital signature of a worksheet PDF")
    v.add_argument("pdf", metavar="FILE.pdf")
    v.add_argument("--trust", action="append", default=[], metavar="CERT.pem",
                   help="trust only this certificate (PEM or DER: the lab key's, or an "
                        "installation's for drafts); repeatable")
    v.add_argument("--json", action="store_true", help="print the result as JSON")
    v.set_defaults(func=_cmd_verify)
