#!/usr/bin/env bash
# The migration suite (migration_suite.sh) with every move in precopy mode
# (migrate -m precopy); migration_suite.sh itself lets each move choose (auto).
MIG_MODE=precopy exec bash "$(dirname "${BASH_SOURCE[0]}")/migration_suite.sh"
