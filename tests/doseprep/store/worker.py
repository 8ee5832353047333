"""A workstation in a separate process, for the concurrency test.

``python -m tests.doseprep.store.worker NAME COUNT`` saves COUNT records and signs each
("Prepared by"), printing each record id after its signature is committed. The database comes from
``DOSEPREP_DATABASE_URL`` / ``DOSEPREP_DATA_DIR`` as for the real program.
"""

from __future__ import annotations

import copy
import json
import sys
import zlib

from doseprep.store import open_store, prepare_record, save_draft
from doseprep.workflow import compute_plan
from tests.conftest import load_case
from tests.doseprep.store.helpers import People, current, unique_din


def main(argv: list[str]) -> int:
    name, count = argv[0], int(argv[1])
    request = current(load_case("v01-basic-dl3")["request"])  # signed now: not yet expired
    people = People()
    with open_store() as store:
        for number in range(count):
            varied = copy.deepcopy(request)
            varied["patient"]["id"] = f"MRN-{name}-{number:04d}"
            varied["product"]["din"] = unique_din(zlib.crc32(name.encode()) % 1000 * 1000
                                                  + number)
            record = save_draft(store, compute_plan(varied), people.tech)
            prepare_record(store, record.record_id, people.tech, People.password(people.tech))
            sys.stdout.write(json.dumps([record.record_id, varied["patient"]["id"]]) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
