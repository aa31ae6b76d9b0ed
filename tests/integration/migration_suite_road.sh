#!/usr/bin/env bash
# The migration suite (migration_suite.sh) with the pages of every move on a
# second road beside the supervisors' channel (MOSIX_PAGE_ROAD=socket: the
# ordering an RDMA page stream needs, run on a machine without RDMA), once
# with each move choosing its mode and once all by post-copy. run_one.sh
# checks that every move took that road.
set -e
here=$(dirname "${BASH_SOURCE[0]}")
export MOSIX_PAGE_ROAD=socket
bash "$here/migration_suite.sh"
MIG_MODE=postcopy bash "$here/migration_suite.sh"
