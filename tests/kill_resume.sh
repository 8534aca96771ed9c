#!/usr/bin/env bash
# Kill-and-resume: `polrec label -o FILE` killed with SIGKILL at random moments and
# continued with `--resume` must end with exactly the output of an uninterrupted run,
# byte for byte: no record lost, none repeated, the same numbers.
#
#   tests/kill_resume.sh [ROUNDS] [-- EXTRA LABEL OPTIONS...]
#
# ROUNDS (default 20): interrupted runs. Each starts afresh, is killed at a random
# moment (drawn again, up to five times, should the run finish first), then is
# resumed until it finishes; a resumed run is itself killed again at random, up to
# three times. The inputs are the repository's I/O and text
# fixtures (text, JSONL, CSV, a directory) and a JSONL file of whole statements.
# Environment:
#   POLREC_BIN   the binary to test (default: `cargo build`, then the dev binary
#                under $CARGO_TARGET_DIR or target/; Cargo.toml optimises it)
#   SEED         seed of the random moments (default: random; printed, to replay a failure)
#   CORPUS       JSONL(.gz) statements to take RECORDS records from (default: the
#                shared UNGDC corpus, corpora/ungdc-2015-2024.jsonl.gz under
#                $POLREC_SHARED_DIR, ../shared beside the repository or /work/shared;
#                without it, records made from the fixture texts' lines)
#   RECORDS      records taken from CORPUS, at most (default 2000: the whole shared
#                corpus, about 174,000 sentences)
# Exit status 0 when every round ends identical to the reference, 1 otherwise.
#
# Examples (from the repository root):
#   tests/kill_resume.sh 20 -- --segment-only        # the whole corpus, no model: fast
#   RECORDS=5 tests/kill_resume.sh 20                # the embedded model, ~330 sentences
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=20
if [[ $# -gt 0 && $1 != -- ]]; then rounds=$1; shift; fi
[[ ${1:-} == -- ]] && shift
extra=("$@")

if [[ -z ${POLREC_BIN:-} ]]; then
  (cd "$root" && cargo build --quiet)
  POLREC_BIN=${CARGO_TARGET_DIR:-$root/target}/debug/polrec
fi
bin=$POLREC_BIN
seed=${SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$seed
records=${RECORDS:-2000}
corpus_file=${CORPUS:-}
if [[ -z $corpus_file ]]; then
  for shared in ${POLREC_SHARED_DIR:+"$POLREC_SHARED_DIR"} "$root/../shared" /work/shared; do
    if [[ -f $shared/corpora/ungdc-2015-2024.jsonl.gz ]]; then
      corpus_file=$shared/corpora/ungdc-2015-2024.jsonl.gz
      break
    fi
  done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# The corpus: whole verbatim records, the I/O fixtures in all input formats, and a
# JSONL file of up to $records statements from $corpus_file (or, without it, of
# records made from the fixture texts' lines).
mkdir corpus
cp -r "$root/tests/fixtures/text/"*.txt "$root/tests/fixtures/io/speeches" \
  "$root/tests/fixtures/io/records.jsonl" "$root/tests/fixtures/io/table.csv" \
  "$root/tests/fixtures/io/lines.txt" corpus/
if [[ -n $corpus_file ]]; then
  case $corpus_file in
    *.gz) { gzip -dc "$corpus_file" || true; } | head -n "$records" > corpus/many.jsonl ;;
    *) head -n "$records" "$corpus_file" > corpus/many.jsonl ;;
  esac
else
  # polrec itself writes the lines of the fixture texts as JSONL records with a `text` field
  "$bin" label --quiet --segment-only --no-split "$root/tests/fixtures/text/"*.txt \
    | head -n "$records" > corpus/many.jsonl
fi
label=("$bin" label --quiet "${extra[@]}" corpus)

# Runs `label` with the given arguments; succeeds on exit status 0 or 1 (1: some input
# was named on stderr, a failure or an altered text, the rest written), fails on 2 or
# a signal.
run_label() {
  local status=0
  "${label[@]}" "$@" || status=$?
  ((status <= 1))
}

keys() { # the (doc, record, sentence) of each JSONL output record, one a line
  sed -E 's/^\{"doc":(.*),"record":([0-9]+),"sentence":([0-9]+),.*$/\1 \2 \3/' "$1"
}

started=$(date +%s.%N)
if ! run_label -o ref.jsonl 2> ref.log; then
  cat ref.log >&2
  exit 1
fi
finished=$(date +%s.%N)
# a full run's length in milliseconds, to draw kill moments from
full_ms=$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%d", (b - a) * 1000 }')
keys ref.jsonl | sort > ref.keys
if [[ -n $(uniq -d ref.keys) ]]; then
  echo "the reference itself repeats keys; give each input once" >&2
  exit 1
fi
printf 'kill_resume: %s records from %s; full run %d ms; seed %s; %d rounds\n' \
  "$(wc -l < ref.jsonl)" "$(find corpus -type f | wc -l) files" "$full_ms" "$seed" "$rounds"

# Starts `label` (with any further arguments) in the background and kills it with
# SIGKILL after a random moment within 90% of a full run's length; returns 0 if it was
# killed, 1 if it finished first (checked for success).
run_and_kill() {
  local delay_ms=$(((RANDOM * 32768 + RANDOM) % (full_ms * 9 / 10 + 1)))
  "${label[@]}" "$@" -o out.jsonl 2>> runs.log & # not run_label: kill must reach polrec
  local pid=$!
  sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
  if kill -KILL "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    return 0
  fi
  local status=0
  wait "$pid" || status=$?
  if ((status > 1)); then
    echo "round $round: a run failed:" >&2
    cat runs.log >&2
    exit 1
  fi
  return 1
}

failed=0
kills_total=0
unkilled=0
for round in $(seq 1 "$rounds"); do
  rm -f runs.log
  kills=0
  # a fresh run, killed at a random moment (drawn again if it finished first)
  for _ in 1 2 3 4 5; do
    rm -f out.jsonl
    if run_and_kill; then
      kills=1
      break
    fi
  done
  if ((kills == 0)); then
    unkilled=$((unkilled + 1))
  else
    # resume, killing again at random up to three times, then to the end
    while ((kills < 4 && RANDOM % 2 == 0)) && run_and_kill --resume; do
      kills=$((kills + 1))
    done
    if ! run_label --resume -o out.jsonl 2>> runs.log; then
      echo "round $round: the resumed run failed:" >&2
      cat runs.log >&2
      exit 1
    fi
  fi
  kills_total=$((kills_total + kills))
  keys out.jsonl | sort > out.keys
  lost=$(comm -23 ref.keys <(uniq out.keys) | wc -l)
  repeated=$(uniq -d out.keys | wc -l)
  if cmp -s ref.jsonl out.jsonl; then
    printf 'round %2d: %d kill(s): identical\n' "$round" "$kills"
  else
    failed=$((failed + 1))
    printf 'round %2d: %d kill(s): DIFFERENT: %d records lost, %d repeated; first difference:\n' \
      "$round" "$kills" "$lost" "$repeated"
    cmp ref.jsonl out.jsonl || true
    diff ref.jsonl out.jsonl | head -n 4 | cut -c 1-300
  fi
done
printf 'kill_resume: %d/%d rounds identical to the uninterrupted run (%d kills; %d rounds never killed; seed %s)\n' \
  "$((rounds - failed))" "$rounds" "$kills_total" "$unkilled" "$seed"
((failed == 0))
