#!/usr/bin/env bash
# scripts/x12valid.sh FILE...: validate X12 837P files against 005010X222A1 with pyx12's x12valid.
#
# Creates once a Python virtual environment (target/x12-venv, or $X12_VENV) holding the pinned
# pyx12 of scripts/x12valid-requirements.txt, runs x12valid on each file and prints its findings.
# Exit status: 0 when every file is valid, 1 when any is not, 2 when the validator cannot be run.
#
# x12valid's own exit status says nothing (its console script exits 1 on success too), so a file
# passes only when all of these hold:
#   - x12valid ends with "FILE: OK" (not "Failure", not a Python traceback: it crashes on some
#     invalid input, e.g. more than 4 diagnosis pointers in SV107);
#   - it logged nothing at WARNING, ERROR or CRITICAL (every finding of pyx12 is logged as ERROR);
#   - the 999 acknowledgement it writes accepts everything: each IK5 and AK9 is `A` (not `E`,
#     accepted with errors, nor `R`), no IK3/IK4 segment or element note, AK9's received count equals
#     its accepted count and is not 0;
#   - every functional group is 005010X222A1 (AK1) with 837 transactions (AK2): pyx12 picks its map
#     by GS08, so an 835 or a 4010 837 would otherwise be "valid" against the wrong guide.
# x12valid writes FILE.997 beside its input: it runs on a copy in a temporary folder instead, so
# fixtures stay as they are.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
venv=${X12_VENV:-$root/target/x12-venv}
requirements=$here/x12valid-requirements.txt
stamp=$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)

if [ $# -eq 0 ]; then
    echo "usage: scripts/x12valid.sh FILE..." >&2
    exit 2
fi

if [ ! -e "$stamp" ]; then
    python=${PYTHON:-python3}
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "x12valid.sh: pyx12 4 needs Python 3.11 or later; $python is $("$python" --version 2>&1)" >&2
        exit 2
    fi
    echo "x12valid.sh: installing pyx12 into $venv (once)" >&2
    rm -rf "$venv"
    if ! "$python" -m venv "$venv" >&2 ||
        ! "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
            -r "$requirements" >&2; then
        echo "x12valid.sh: could not install pyx12 into $venv" >&2
        rm -rf "$venv"
        exit 2
    fi
    touch "$stamp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=0
for file in "$@"; do
    if [ ! -f "$file" ]; then
        echo "$file: not a file" >&2
        failed=1
        continue
    fi
    copy=$work/input.837
    cp "$file" "$copy"
    rm -f "$copy.997"
    out=$(cd "$work" && "$venv/bin/x12valid" input.837 2>&1)
    problems=()
    # findings of pyx12, without the timestamp of its log format
    while IFS= read -r line; do
        problems+=("$line")
    done < <(printf '%s\n' "$out" | sed -n -E 's/^[0-9-]+ [0-9:,]+ (WARNING|ERROR|CRITICAL) /\1 /p' |
        sed "s|input\.837|$file|g")
    if printf '%s\n' "$out" | grep -q '^Traceback'; then
        problems+=("x12valid crashed: $(printf '%s\n' "$out" | grep -E '^[A-Za-z][A-Za-z0-9_.]*(Error|Exception)(:|$)' | tail -n 1)")
    fi
    if ! printf '%s\n' "$out" | grep -qx 'input.837: OK'; then
        problems+=("x12valid did not say OK")
    fi
    if [ -s "$copy.997" ]; then
        # the 999: segments end with ~ (pyx12 writes them with its own separators * : ~)
        ack=$(tr -d '\r\n' <"$copy.997" | tr '~' '\n')
        bad=$(printf '%s\n' "$ack" | awk -F'*' '
            $1 == "AK1" { groups++; if ($4 != "005010X222A1") print "group " $3 ": version " $4 ", not 005010X222A1" }
            $1 == "AK2" { sets++; if ($2 != "837") print "transaction " $3 ": type " $2 ", not 837" }
            $1 == "IK3" { print "999 IK3 (segment note): " $0 }
            $1 == "IK4" { print "999 IK4 (element note): " $0 }
            $1 == "IK5" && $2 != "A" { print "999 IK5: transaction not accepted (" $2 ")" }
            $1 == "AK9" { if ($2 != "A" || $4 != $5 || $4 == 0) print "999 AK9: group " $2 ", " $5 " of " $4 " transactions accepted" }
            END { if (groups == 0) print "999 holds no functional group"; if (sets == 0) print "999 holds no transaction" }')
        while IFS= read -r line; do
            [ -n "$line" ] && problems+=("$line")
        done <<<"$bad"
    else
        problems+=("x12valid wrote no 999 acknowledgement")
    fi
    if [ ${#problems[@]} -eq 0 ]; then
        sets=$(printf '%s\n' "$ack" | grep -c '^AK2\*')
        echo "$file: valid 005010X222A1 ($sets transaction(s) accepted by pyx12 x12valid)"
    else
        failed=1
        echo "$file: NOT VALID"
        # the first findings say what is wrong; thousands more would drown them
        shown=0
        for p in "${problems[@]}"; do
            if [ $shown -eq 40 ]; then
                echo "  … and $((${#problems[@]} - shown)) more"
                break
            fi
            echo "  $p"
            shown=$((shown + 1))
        done
    fi
done
exit $failed
