#!/usr/bin/env bash
# The migration suite (migration_suite.sh) with every move in stop-and-copy mode
# (migrate -m stop); migration_suite.sh itself lets each move choose (auto).
MIG_MODE=stop exec bash "$(dirname "${BASH_SOURCE[0]}")/migration_suite.sh"
