#!/usr/bin/env bash
# compare.sh PROGRAM
#
# Runs PROGRAM through run.sh once per mode in $MOS_PROG_MODES (default
# "native native": determinism) and fails unless every transcript is
# identical to the first and ends with the expected status: "exit: 0", or
# what the source declares on a line "expect-status: ..." (e.g.
# "killed by SIGTERM"). A mode that skips (77) skips the test. Remote modes
# need a moscluster (tests/integration/programs_remote.sh brings one up);
# remote_expected/NAME, when present, is the transcript expected there.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
(($# == 1)) || { echo "usage: compare.sh PROGRAM" >&2; exit 2; }
name=$1
read -r -a modes <<<"${MOS_PROG_MODES:-native native}"

expected="exit: 0"
if [[ -f $here/$name.c ]]; then
  line=$(sed -n 's/.*expect-status: *\(.*[^ ]\) *$/\1/p' "$here/$name.c" | head -1)
  [[ -n $line ]] && expected=$(sed 's| *\*/$||' <<<"$line")
fi

# Modes home and remote: programs listed in home_pending.txt are skipped with
# their reason (what is not yet right at home is not right elsewhere either).
for m in "${modes[@]}"; do
  if [[ $m == home || $m == remote:* ]]; then
    reason=$(awk -v n="$name" '$1 == n { $1 = ""; sub(/^ /, ""); print; exit }' "$here/home_pending.txt")
    if [[ -n $reason ]]; then
      echo "compare.sh: $name: not yet under mosrun: $reason"
      exit 77
    fi
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mos-compare.XXXXXX") || exit 2
trap 'rm -rf -- "$tmp"' EXIT

rc=0
for i in "${!modes[@]}"; do
  m=${modes[$i]}
  bash "$here/run.sh" "$m" "$name" >"$tmp/$i" 2>"$tmp/$i.err"
  r=$?
  if ((r == 77)); then
    cat "$tmp/$i.err" >&2
    echo "compare.sh: $name: mode $m skipped" >&2
    exit 77
  fi
  if ((r != 0)); then
    cat "$tmp/$i.err" >&2
    echo "compare.sh: $name: run.sh $m failed with $r" >&2
    exit 1
  fi
  if [[ -s $tmp/$i.err ]]; then
    echo "--- stderr of $name ($m):" >&2
    cat "$tmp/$i.err" >&2
  fi
  last=$(tail -n 1 "$tmp/$i")
  by_design=0
  [[ $m == remote:* && -f $here/remote_expected/$name ]] && by_design=1
  if ((!by_design)) && [[ $last != "$expected" ]]; then
    echo "compare.sh: $name ($m) ended with '$last', expected '$expected'" >&2
    cat "$tmp/$i"
    rc=1
  fi
  # A program that behaves differently on another node by design (a
  # documented restriction) has its remote transcript in remote_expected/.
  if ((by_design)); then
    if ! diff -u --label "$name (remote_expected)" --label "$name ($m)" "$here/remote_expected/$name" "$tmp/$i"; then
      echo "compare.sh: $name: transcript under $m differs from remote_expected/$name" >&2
      rc=1
    fi
  elif ((i > 0)) && ! diff -u --label "$name (${modes[0]})" --label "$name ($m, run $i)" "$tmp/0" "$tmp/$i"; then
    echo "compare.sh: $name: transcript under $m differs from ${modes[0]}" >&2
    rc=1
  fi
done
((rc == 0)) && cat "$tmp/0"
exit $rc
