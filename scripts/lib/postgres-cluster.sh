#!/usr/bin/env bash
# Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.
#
# Throwaway PostgreSQL clusters for tests, benchmarks and the demo. Source this file, then:
#   pg_ensure_installed            installs postgresql-15 with apt-get when its binaries are missing
#   pg_cluster_create DIR [extra postgresql.conf lines...]   initdb + start on a free 127.0.0.1 port
#   pg_cluster_stop DIR            stops the cluster and deletes DIR
# After pg_cluster_create: PG_PORT, PG_SOCKET_DIR and PG_BIN are set.
# PostgreSQL refuses to run as root, so the server runs as the `postgres` user when we are root.

pg_find_bindir() {
    local candidate
    for candidate in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/postgres" ]; then
            echo "$candidate"
            return 0
        fi
    done
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return 0
    fi
    return 1
}

pg_ensure_installed() {
    if PG_BIN=$(pg_find_bindir); then export PG_BIN; return 0; fi
    echo "PostgreSQL server binaries not found; installing postgresql-15 with apt-get..." >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: not root; install PostgreSQL yourself: sudo apt-get install -y postgresql-15" >&2
        return 1
    fi
    # Keep apt from starting a system-wide cluster we do not need.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15 >&2 \
        || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15 >&2; }
    local status=$?
    rm -f /usr/sbin/policy-rc.d
    [ $status -eq 0 ] || { echo "error: apt-get install postgresql-15 failed" >&2; return 1; }
    PG_BIN=$(pg_find_bindir) || { echo "error: postgresql-15 installed but initdb not found" >&2; return 1; }
    export PG_BIN
}

pg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command as the cluster's owner (postgres when we are root, ourselves otherwise).
pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_cluster_create() {
    local dir=$1; shift
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    PG_SOCKET_DIR="$dir"
    pg_as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    local attempt
    for attempt in 1 2 3 4 5; do
        PG_PORT=$(pg_free_port)
        {
            echo "listen_addresses = '127.0.0.1'"
            echo "port = $PG_PORT"
            echo "unix_socket_directories = '$dir'"
            echo "max_connections = 200"
            echo "fsync = off"
            echo "full_page_writes = off"
            local line
            for line in "$@"; do echo "$line"; done
        } > "$dir/data/postgresql.auto.conf"
        if pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
            export PG_PORT PG_SOCKET_DIR
            return 0
        fi
    done
    cat "$dir/server.log" >&2
    return 1
}

# psql as the superuser over the cluster's own socket.
pg_psql() {
    local dir=$1; shift
    pg_as_owner "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$PG_PORT" -U postgres "$@"
}

pg_cluster_stop() {
    local dir=$1
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}
