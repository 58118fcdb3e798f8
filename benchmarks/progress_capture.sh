#!/bin/bash
# Progress captures: a 100x30 tmux pane, an upload of 3,000 small files + 3 large
# ones to `mango-transfer serve` with a 10 ms reply delay; captures mid-run and at the end, plus
# the non-TTY --stats line and -v lines, into benchmarks/figures/progress-*.txt. Usage: progress_capture.sh [WORKDIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd); W=${1:-/tmp/mango-progress-capture}; FIG=$HERE/figures
rm -rf $W; mkdir -p $W/src
cd "$HERE/.."; export PYTHONPATH=$PWD/src
python - "$W" <<'PY'
import sys
from pathlib import Path
from mango_transfer.bench import datasets
import random
root = Path(sys.argv[1]) / "src"
datasets.small_files(root / "sidecars", 3000)
rng = random.Random(5)
for index in range(3):
    datasets._write(root / "recordings" / f"sub-{index:02d}_eeg.edf", 300 << 20, rng)
PY
python -m mango_transfer serve --data-dir $W/zone --port 0 --client-env $W/client --faults delay_ms=10 > $W/serve.log 2>&1 &
SERVE=$!
for i in $(seq 50); do [ -f $W/client/irods_environment.json ] && break; sleep 0.2; done
ENV="IRODS_ENVIRONMENT_FILE=$W/client/irods_environment.json IRODS_AUTHENTICATION_FILE=$W/client/.irodsA PYTHONPATH=$PYTHONPATH"
HOME_COLL=$(python -c "import json;print(json.load(open('$W/client/irods_environment.json'))['irods_home'])")
tmux kill-session -t mtcap 2>/dev/null || true
tmux new-session -d -s mtcap -x 100 -y 30
cat > $W/pane.sh <<SH
cd $W; export $ENV; PS1='\$ '; mango-transfer() { python -m mango_transfer "\$@"; }; clear
SH
tmux send-keys -t mtcap "source $W/pane.sh" Enter
sleep 1
tmux send-keys -t mtcap "mango-transfer upload src $HOME_COLL/study" Enter
sleep ${MID:-6}
tmux capture-pane -p -t mtcap > $FIG/progress-tty-mid.txt
for i in $(seq 300); do tmux capture-pane -p -t mtcap | grep -q 'moved in' && break; sleep 1; done
tmux capture-pane -p -t mtcap > $FIG/progress-tty-end.txt
tmux kill-session -t mtcap
cd $W
# No terminal: stdout to a file, a plain line every 2 s.
env $ENV python -m mango_transfer upload --stats 2s src $HOME_COLL/plain > $FIG/progress-nontty.txt 2>&1 || echo "exit $?" >> $FIG/progress-nontty.txt
# -v: one line per file (a fresh collection); keep the head and the tail.
env $ENV python -m mango_transfer upload -v src $HOME_COLL/verbose > $W/verbose.txt 2>&1 || true
touch src/sidecars/d000/f000001.json; echo changed >> src/sidecars/d000/f000002.json
env $ENV python -m mango_transfer upload -v src $HOME_COLL/verbose > $W/verbose2.txt 2>&1 || true
{ echo "### first upload of the tree, -v (first 12 lines and the summary)"; head -12 $W/verbose.txt; echo "..."; tail -4 $W/verbose.txt;
  echo; echo "### the same upload again after touching one file and appending to another, -v (lines that are not 'skipped', and the summary)";
  grep -v '^skipped' $W/verbose2.txt | head -20; echo "(plus $(grep -c '^skipped' $W/verbose2.txt) 'skipped: ...' lines, e.g.:)"; grep '^skipped' $W/verbose2.txt | head -2; } > $FIG/progress-verbose.txt
kill $SERVE; wait $SERVE 2>/dev/null || true
echo done
