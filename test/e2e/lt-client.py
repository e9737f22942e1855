#!/usr/bin/python3
"""A libtorrent-rasterbar client (the engine of qBittorrent and Deluge) for the e2e suite.

    /usr/bin/python3 test/e2e/lt-client.py <torrent> <dir> <listen address> <port>

Adds the torrent with `dir` as its save path: if the file is there it is checked and seeded,
otherwise it is downloaded (and then seeded). Runs until SIGINT or SIGTERM, then leaves the
way a user quitting does: the session is destroyed, which announces event=stopped (bounded by
stop_tracker_timeout). Prints one JSON object a line on stdout: its state changes and every
tracker alert, so the suite can see what libtorrent made of our answers.

The only peer source is the tracker: DHT, local service discovery, UPnP/NAT-PMP off; the
session is built without the default plugins (no ut_pex), and the torrent carries
disable_dht|disable_lsd|disable_pex as well. uTP is off so that peers meet over TCP only.
"""
import json
import signal
import sys
import time

import libtorrent as lt


def say(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def main():
    torrent, save_path, address, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    listen = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    settings = {
        "listen_interfaces": listen,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "stop_tracker_timeout": 3,
        "alert_mask": lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification,
    }
    ses = lt.session(settings, 0)  # flags 0: no default plugins, so no ut_pex
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = save_path
    params.flags |= lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
    handle = ses.add_torrent(params)
    say(event="added", version=lt.__version__, listen=listen)

    stopping = []
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))

    last_state = None
    deadline = time.monotonic() + 180  # never outlive a forgotten test by much
    while not stopping and time.monotonic() < deadline:
        for a in ses.pop_alerts():
            if isinstance(a, (lt.tracker_reply_alert, lt.tracker_error_alert, lt.tracker_warning_alert,
                              lt.tracker_announce_alert, lt.scrape_reply_alert)):
                say(event="tracker", alert=type(a).__name__, message=a.message())
            elif a.category() & lt.alert.category_t.error_notification:
                say(event="error", alert=type(a).__name__, message=a.message())
        s = handle.status()
        state = str(s.state)
        if state != last_state:
            last_state = state
            say(event="state", state=state, progress=s.progress, seeding=s.is_seeding)
        time.sleep(0.1)

    say(event="stopping")
    ses.remove_torrent(handle)
    # Removing the torrent announces event=stopped; the session's destructor waits for it
    # (at most stop_tracker_timeout). Report the alerts seen meanwhile.
    end = time.monotonic() + 1
    while time.monotonic() < end:
        for a in ses.pop_alerts():
            say(event="alert", alert=type(a).__name__, message=a.message())
        time.sleep(0.1)
    del ses
    say(event="exit")


if __name__ == "__main__":
    main()
