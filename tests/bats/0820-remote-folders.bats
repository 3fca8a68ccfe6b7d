#!/usr/bin/env bats
# mail folders --remote and --create/--rename/--delete against the
# harness's Dovecot.

load helpers

use_servers

setup() {
    CONF="$BATS_TEST_TMPDIR/config"
    send_setup "$CONF"
}

@test "folders --remote: placeholder" {
    skip "written below"
}
