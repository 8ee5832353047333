# A day with doseprep on the command line. The README shows this file; tests/test_readme.py runs
# it in an empty folder, so the README cannot drift from what works. Passwords come one per line
# on standard input here (--password-stdin); typed at a terminal, doseprep asks for them.
# Every command that saves, signs, prints, exports or shows patient data asks for one.
set -eu
DOCS=${DOCS:-$(cd "$(dirname "$0")" && pwd)}   # this docs/ folder
export DOSEPREP_DATA_DIR="$PWD/doseprep-data"   # this walkthrough's own records, keys and logs
export DOSEPREP_CONFIG_DIR="$PWD/doseprep-config"

# Accounts: the first administrator needs no credentials; then the administrator adds people.
# A technician prepares; a supervisor verifies (blind re-entry) and releases; no one both.
printf 'admin-pass-1\n' | doseprep users add admin --name "ADMIN, ANN" --role administrator --password-stdin
printf 'admin-pass-1\ntech-pass-1\n' | doseprep users add tom --name "TECH, TOM" --role technician --admin admin --password-stdin
printf 'admin-pass-1\nsup-pass-1\n' | doseprep users add sue --name "SUPERVISOR, SUE" --role supervisor --admin admin --password-stdin

# A request: the bundled example, collected a day ago and prepared now (docs/request.schema.json).
doseprep example request.json
doseprep plan request.json

# The record: saved, prepared, verified blind (docs/reentry.md), released, printed, checked.
id=$(printf 'tech-pass-1\n' | doseprep record save request.json --user tom --password-stdin)
printf 'tech-pass-1\n' | doseprep record prepare "$id" --user tom --password-stdin
printf 'sup-pass-1\n' | doseprep record verify "$id" --user sue --reentry "$DOCS/reentry-example.json" --password-stdin
printf 'sup-pass-1\n' | doseprep record release "$id" --user sue --password-stdin
printf 'sup-pass-1\n' | doseprep record print "$id" --user sue -o worksheet.pdf --labels label.pdf --password-stdin
doseprep verify worksheet.pdf
printf 'sup-pass-1\n' | doseprep record list --mrn MRN-000123 --user sue --password-stdin
doseprep audit verify --against worksheet.pdf
printf 'sup-pass-1\n' | doseprep audit export -o audit.csv --user sue --password-stdin
doseprep info
