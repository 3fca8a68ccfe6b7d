#!/usr/bin/env bats
# Decoding judged by an independent implementation: python3's email
# package must agree with `mail read --json` on the subject, the sender and
# the readable text of every message of the test corpus and the examples.

load helpers

@test "corpus: subjects, senders and text agree with python3's email package" {
    run python3 "$BATS_TEST_DIRNAME/compare-with-python.py" \
        "$MAIL_SOURCE_ROOT"/tests/data/*.eml \
        "$MAIL_SOURCE_ROOT"/examples/Maildir/cur/* \
        "$MAIL_SOURCE_ROOT"/examples/Maildir/new/*
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"0 mismatches"* ]]
}

@test "corpus: every message reads without error, as text and as JSON" {
    for f in "$MAIL_SOURCE_ROOT"/tests/data/*.eml; do
        run "$MAIL" read --peek "$f"
        [ "$status" -eq 0 ] || { echo "$f: $status $output"; false; }
        [[ "$output" != *$'\033'* ]] || { echo "$f: raw ESC"; false; }
        "$MAIL" read --peek --json "$f" | python3 -c 'import json,sys; json.load(sys.stdin)' ||
            { echo "$f: bad JSON"; false; }
    done
}
