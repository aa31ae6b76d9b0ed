#!/usr/bin/env bash
# The migration suite (migration_suite.sh) with every move in postcopy mode
# (migrate -m postcopy); migration_suite.sh itself lets each move choose (auto).
MIG_MODE=postcopy exec bash "$(dirname "${BASH_SOURCE[0]}")/migration_suite.sh"
