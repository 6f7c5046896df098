/* alertctl's help texts and usage errors, in one place (usage.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alertctl.h"
#include "i18n.h"
#include "usage.h"

/* The official's and the contact point's commands (and recipient, which
 * the contact point's people are told about) have their help in the
 * reader's language: marked N_() and printed through _(); the
 * administrator's stay English.
 * Kept out of clang-format so that a help line changed is one line
 * changed. */
/* clang-format off */
static const struct usage_text {
	const char *command;
	const char *text;
} usage_texts[] = {
    {NULL, N_(
        "Usage: alertctl [-c CONFIG] [-v] COMMAND [ARGS]\n"
        "\n"
        "Commands:\n"
        "  keygen device PREFIX        new device key pair: PREFIX.key, "
        "PREFIX.pub\n"
        "  keygen recipient PREFIX     new recipient key pair\n"
        "  keygen webhook-secret FILE  new webhook secret (whsec_...)\n"
        "  keygen ack-token FILE       new acknowledgement token\n"
        "  keygen admin-token FILE     new token for the relay's admin\n"
        "  keygen relay-cert PREFIX    the relay's TLS key and certificate\n"
        "  pin CERTFILE                print the relay certificate's pin\n"
        "  send --type TYPE [...]      send an alert through the relay\n"
        "  cancel ALERT_ID             cancel an alert of this device\n"
        "  pincode set|clear|status    the PIN and duress PIN of cancel\n"
        "  checkin start|extend|done   a timer: an alarm unless you check "
        "in\n"
        "  status ALERT_ID             state and history of an alert\n"
        "  list                        this device's recent alerts\n"
        "  watch [--once] [...]        send unsent alerts, print receipts\n"
        "  button                      the panic button at the desk\n"
        "  receive --listen ADDR [...] receive alerts as a webhook endpoint\n"
        "  ack REF                     acknowledge an alert (contact point)\n"
        "  inbox                       the alerts sent to you (contact point)\n"
        "  org init|set|show [...]     the organisation key, relays and pins\n"
        "  device add ALIAS [...]      add a device (also revoke, rotate, "
        "list)\n"
        "  recipient add ALIAS [...]   add a recipient (also rotate, remove, "
        "list)\n"
        "  directory sign|show [...]   sign the directory, or verify a "
        "signed one\n"
        "  enroll BUNDLE [--force]     set this device up from its bundle\n"
        "  reload [--admin HOST:PORT]  make the running relay reload\n"
        "  deadletter list|replay      notifications the relay gave up\n"
        "  audit export|verify|keygen  the relay's audit log\n"
        "\n"
        "Options:\n"
        "  -c, --config FILE  client configuration (default: $ALERTCTL_CONF,\n"
        "                     else ~/.config/alertrelay/alertctl.conf)\n"
        "  -v, --verbose      detailed diagnostics on stderr (time, pid)\n"
        "  -h, --help         this help; 'alertctl COMMAND --help' for more\n"
        "  -V, --version      print the version\n"
        "\n"
        "Exit status: 0 success, 1 failure, 2 usage error.\n")},
    {"keygen",
        "Usage: alertctl keygen device [--complete] PREFIX\n"
        "       alertctl keygen recipient [--complete] PREFIX\n"
        "       alertctl keygen webhook-secret FILE\n"
        "       alertctl keygen ack-token FILE\n"
        "       alertctl keygen admin-token FILE\n"
        "       alertctl keygen relay-cert PREFIX [--type p256|ed25519]\n"
        "                [--name HOST[,HOST|IP...]] [--days N]\n"
        "\n"
        "device:         Ed25519 signing key pair of a panic device.\n"
        "recipient:      X25519 key pair of a contact point; alerts are\n"
        "                encrypted to its public key.\n"
        "webhook-secret: secret shared by the relay and a webhook receiver.\n"
        "ack-token:      a recipient's token for acknowledging alerts\n"
        "                (ack_token_file at the relay, alertctl ack).\n"
        "admin-token:    the token for the relay's POST /reload ([admin]\n"
        "                token_file at the relay, alertctl reload).\n"
        "relay-cert:     the relay's TLS key (PREFIX.key, PEM) and a self-\n"
        "                signed certificate (PREFIX.crt) for --name\n"
        "                (default localhost,127.0.0.1), P-256 unless\n"
        "                --type ed25519, valid --days (825); prints the\n"
        "                pin (what alertctl pin PREFIX.crt prints).\n"
        "\n"
        "--complete:     PREFIX.pub from the PREFIX.key an interrupted\n"
        "                keygen left without it.\n"
        "\n"
        "Secret files get mode 0600.  Existing files are never overwritten.\n"
        "For key pairs the public key is printed on stdout; nothing secret\n"
        "is ever printed.\n"},
    {"pin",
        "Usage: alertctl pin CERTFILE\n"
        "\n"
        "Prints the pin of the relay's PEM certificate: the base64 SHA-256\n"
        "of its public key.  Put it in relay_pin in the client config.\n"},
    {"send", N_(
        "Usage: alertctl [-c CONFIG] send --type panic|threat|test\n"
        "           [--message TEXT] [--lat DEG --lon DEG [--accuracy M]]\n"
        "           [--timeout SECONDS] [--alert-id HEX32]\n"
        "           [--wait ack|delivered|none] [--wait-timeout SECONDS]\n"
        "           [--drill] [--follow [--follow-interval S] [--gpsd HOST:PORT]]\n"
        "\n"
        "Encrypts the alert to every recipient in the config, signs it with\n"
        "the device key, keeps it in the outbox (before any network step:\n"
        "alert_id=... is printed then) and delivers it to the relay over\n"
        "pinned TLS 1.3, retrying across relays until the relay confirms\n"
        "it is stored.\n"
        "With --wait it then says what it waits for, stays connected and\n"
        "prints each receipt (one line: delivered, escalated, failed,\n"
        "acknowledged, cancelled) until the awaited state, reconnecting\n"
        "when the connection is lost.  Ctrl-C stops the waiting only: the\n"
        "alert stays open.\n"
        "Alerts of the outbox that no relay accepted yet (an earlier send\n"
        "gave up or was killed) are sent again first, same alert_id, same\n"
        "bytes: one 'resending alert_id=...' line each, then their outcome.\n"
        "\n"
        "  -t, --type TYPE     panic, threat or test (required)\n"
        "  -m, --message TEXT  free text for the recipients\n"
        "      --lat, --lon    position in decimal degrees\n"
        "      --accuracy M    accuracy of the position in metres\n"
        "      --timeout S     give up after S seconds (default 30)\n"
        "      --drill         a rehearsal: the whole path, every text marked\n"
        "                      OEFENING/DRILL, the relay's drill policy\n"
        "      --alert-id ID   resend an earlier alert (its id is printed\n"
        "                      first, as alert_id=...)\n"
        "      --accept-relay-ack  let --wait ack end on an acknowledgement\n"
        "                      only the relay vouches for (an SMS reply)\n"
        "      --wait W        after accepted, wait until: ack (a person\n"
        "                      acknowledged it), delivered (a notification\n"
        "                      went through), none (default: do not wait)\n"
        "      --wait-timeout S\n"
        "                      stop waiting after S seconds (default: when\n"
        "                      the relay stops escalating, the max_age of\n"
        "                      the alert's policy)\n"
        "      --follow        after accepted, send your location every\n"
        "                      follow_interval (default 10 s) while the\n"
        "                      alert is open: from gpsd, or --lat/--lon\n"
        "      --follow-interval S  seconds between locations\n"
        "      --gpsd HOST:PORT     gpsd to ask (default localhost:2947)\n"
        "  -c, --config FILE   client configuration\n"
        "\n"
        "When it gives up, the last line on stderr says so in words first\n"
        "('ALARM NOT DELIVERED. Call 112 now. (reason)').  Exit status 0\n"
        "only once the relay accepted the alert and, with --wait, the\n"
        "awaited state was reached; 1 not delivered (it waits in the\n"
        "outbox); 2 usage; 3 this device can no longer raise alarms\n"
        "(revoked); 4 accepted, but with --wait cancelled, expired or not\n"
        "confirmed in time.\n")},
    {"cancel", N_(
        "Usage: alertctl [-c CONFIG] cancel ALERT_ID [--timeout SECONDS]\n"
        "\n"
        "Cancels an alert this device sent: the relay stops escalating it\n"
        "and tells everyone already notified.  The cancel is signed with the\n"
        "device key; it is retried across relays like send.  Prints a line\n"
        "saying the alert is cancelled.\n"
        "\n"
        "      --timeout S     give up after S seconds (default 30)\n"
        "  -c, --config FILE   client configuration\n"
        "\n"
        "With PINs set (alertctl pincode), it first reads the PIN from the\n"
        "terminal or stdin; a wrong one cancels nothing.\n"
        "\n"
        "Exit status 0 once the relay confirmed; 1 when it does not know\n"
        "the alert or did not answer in time, or after a wrong PIN.\n")},
    {"pincode", N_(
        "Usage: alertctl [-c CONFIG] pincode set|clear|status\n"
        "\n"
        "The PINs that cancel asks once they are set: the normal PIN, and\n"
        "the duress PIN to enter when someone forces you to cancel.  A\n"
        "cancel with the duress PIN looks and ends exactly like a real one\n"
        "on this device, but the relay keeps the alarm open and tells every\n"
        "recipient at once that you cancelled under duress.  set reads the\n"
        "PIN and the duress PIN from the terminal (twice each, not shown),\n"
        "or one a line from stdin; they are kept only as Argon2id hashes in\n"
        "DEVICE_KEY.pin (mode 0600).  clear removes them; status says\n"
        "whether they are set.\n"
        "\n"
        "Once PINs are set, set and clear first ask the current PIN; a\n"
        "wrong one changes nothing.  The duress PIN there looks just like\n"
        "your own, but only seems to change the PINs: every cancel after\n"
        "it is a duress cancel, until you set the PINs with your own PIN\n"
        "again (as the new PIN when the PINs look cleared).\n"
        "\n"
        "  -c, --config FILE   client configuration\n")},
    {"status", N_(
        "Usage: alertctl [-c CONFIG] status ALERT_ID [--json]\n"
        "           [--timeout SECONDS]\n"
        "\n"
        "Prints the state (open, acknowledged, cancelled, expired), the\n"
        "reference and the history of one alert of this device, one line\n"
        "per event, oldest first.\n"
        "\n"
        "      --json          the relay's answer as one line of JSON\n"
        "      --timeout S     give up after S seconds (default 30)\n"
        "  -c, --config FILE   client configuration\n")},
    {"list", N_(
        "Usage: alertctl [-c CONFIG] list [--limit N] [--json]\n"
        "           [--timeout SECONDS]\n"
        "\n"
        "Prints this device's recent alerts, newest first, one line each:\n"
        "created, alert_id, type, state, reference.\n"
        "\n"
        "      --limit N       at most N alerts, 1..100 (default: the\n"
        "                      relay's, 20)\n"
        "      --json          the relay's answer as one line of JSON\n"
        "      --timeout S     give up after S seconds (default 30)\n"
        "  -c, --config FILE   client configuration\n")},
    {"checkin", N_(
        "Usage: alertctl [-c CONFIG] checkin start --minutes N [--grace N]\n"
        "           [--message TEXT] [--timeout SECONDS]\n"
        "       alertctl [-c CONFIG] checkin extend --minutes N [--grace N]\n"
        "           [--message TEXT] [--timeout SECONDS]\n"
        "       alertctl [-c CONFIG] checkin done [--timeout SECONDS]\n"
        "\n"
        "Before a risky visit: start a timer of N minutes.  If you do not\n"
        "check in (done) before it runs out, plus the grace, the relay\n"
        "raises an alarm (type missed_checkin, with your message) to the\n"
        "recipients, even when this device is off, broken or taken.  The\n"
        "alarm is prepared, signed and sealed now: the relay cannot read\n"
        "it.  extend sets a new deadline N minutes from now.  alertctl\n"
        "watch prints a reminder before the deadline.\n"
        "\n"
        "      --minutes N     the deadline, N minutes from now (fractions\n"
        "                      allowed)\n"
        "      --grace N       minutes after the deadline before the alarm\n"
        "                      (default 10)\n"
        "      --message TEXT  what the recipients read if the alarm goes\n"
        "                      out: where you are, whom you visit\n"
        "      --timeout S     give up after S seconds (default 30)\n"
        "  -c, --config FILE   client configuration\n")},
    {"button", N_(
        "Usage: alertctl [-c CONFIG] button\n"
        "\n"
        "Watches the panic button of the [button] section of the\n"
        "configuration (an input device, or a GPIO line) and raises a panic\n"
        "alert with its message and place when the key is held for 'hold'\n"
        "seconds (default 2).  While that alert is open, holding it again\n"
        "raises nothing new.  Stays connected like watch; the outcome goes\n"
        "to its output and to the button's LED.  SIGINT or SIGTERM ends it.\n"
        "\n"
        "  -c, --config FILE   client configuration\n")},
    {"watch", N_(
        "Usage: alertctl [-c CONFIG] watch [--interval SECONDS]\n"
        "           [--dead-after SECONDS] [--once] [--supervise]\n"
        "           [--accept-relay-ack] [--timeout SECONDS]\n"
        "\n"
        "Stays connected to the configured relays: sends every alert of the\n"
        "outbox that no relay accepted yet (same alert_id, same bytes) until\n"
        "accepted, and prints each receipt of this device's recent open\n"
        "alerts as it comes ('alert ID: delivered to ...').  Pings the relay\n"
        "every interval; a connection without any frame for --dead-after\n"
        "seconds is dead.  Reconnects with backoff across the relays, for\n"
        "ever ('reconnected to RELAY').  SIGINT or SIGTERM ends it, exit 0.\n"
        "\n"
        "      --interval S    ping every S seconds (default 15)\n"
        "      --dead-after S  reconnect after S seconds without a frame\n"
        "                      (default 45; longer than --interval)\n"
        "      --once          exit 0 once the outbox has no unsent alert\n"
        "      --supervise     ask the relay to supervise this connection:\n"
        "                      silent longer than --interval (plus the\n"
        "                      relay's grace), the contact point is told\n"
        "                      (device.offline), and again when it is back\n"
        "      --accept-relay-ack  stop following an alert on an\n"
        "                      acknowledgement only the relay vouches for\n"
        "                      (an SMS reply)\n"
        "      --timeout S     give up after S seconds, exit 1 (default:\n"
        "                      never)\n"
        "  -c, --config FILE   client configuration\n")},
    {"ack", N_(
        "Usage: alertctl ack REF|ALERT_ID [--url https://HOST:PORT]\n"
        "           [--token-file FILE] [--pin BASE64PIN | --cacert FILE]\n"
        "           [--timeout SECONDS]\n"
        "\n"
        "Acknowledges an alert by the reference in its SMS or on the\n"
        "receiver (K7Q2M9XD; any case, a space or - between its halves) or\n"
        "by its alert id, as the recipient whose token is in FILE (mode\n"
        "0600), on the relay's HTTPS ack listener, over TLS 1.3: this stops\n"
        "its escalation.  Prints 'acknowledged REF as NAME' and '(first)'\n"
        "or '(already acknowledged)'.  The relay, pin and token come from\n"
        "[contactpoint] in alertctl.conf (ack_url, relay_pin or cacert,\n"
        "token_file) unless given here.\n"
        "\n"
        "      --url URL         the relay's ack listener, https://HOST:PORT\n"
        "      --token-file FILE the recipient's token (keygen ack-token)\n"
        "      --pin PIN         trust the relay's key by its pin (alertctl\n"
        "                        pin); without --pin or --cacert the system's\n"
        "                        certificate authorities are used\n"
        "      --cacert FILE     trust certificates of this CA instead\n"
        "      --timeout S       give up after S seconds (default 30)\n"
        "      --sign-key FILE   the recipient's signing key (ID.sign.key):\n"
        "                        the official's device then checks that it\n"
        "                        was you (default: sign_key, or next to\n"
        "                        recipient_key)\n"
        "      --by NAME         your name, signed and shown to the official\n"
        "      --on-the-way      say you are on the way\n"
        "      --closed OUTCOME  say the alert is closed, and how\n"
        "      --message TEXT    a short message to the official, sealed so\n"
        "                        that only the device can read it\n"
        "      --unsigned        send no signed statement\n"
        "  -c, --config FILE     alertctl.conf with [contactpoint]\n"
        "\n"
        "Exit status 1 when the relay refuses (401 token, 404 unknown\n"
        "alert or not one sent to you, 409 cancelled alert) or cannot be\n"
        "reached.\n")},
    {"inbox", N_(
        "Usage: alertctl inbox [--hours N] [--limit N] [--json]\n"
        "           [--url URL] [--token-file FILE] [--pin PIN | --cacert "
        "FILE]\n"
        "\n"
        "Lists the alerts the relay sent you (the recipient whose token it\n"
        "is) that are open or were acknowledged, newest first: reference,\n"
        "type, device, when (local time), age, the tier the escalation\n"
        "reached and who took it.  The relay has no content: read that on\n"
        "the receiver or the console.  Settings as for ack.\n"
        "\n"
        "      --hours N   look back N hours (default 24, at most 168)\n"
        "      --limit N   at most N alerts (default 20, at most 50)\n"
        "      --json      one JSON array, times in RFC 3339 UTC\n"
        "      --timeout S give up after S seconds (default 30)\n"
        "  -c, --config FILE alertctl.conf with [contactpoint]\n")},
    {"receive", N_(
        "Usage: alertctl receive --listen HOST:PORT --key KEYFILE...\n"
        "           --secret FILE|whsec_...\n"
        "           --devices DIR | --directory FILE --org-key KEY\n"
        "           [--recipient-id ID] [--path PATH] [--pretty]\n"
        "           [--state-dir DIR] [--remember N] [--max-age S]\n"
        "           [--old mark|refuse] [--timezone ZONE]\n"
        "           [--max-connections N] [--max-per-address N]\n"
        "           [--request-timeout S]\n"
        "\n"
        "Runs the contact point's webhook endpoint (plain HTTP; put it\n"
        "behind TLS or keep it on loopback).  Each verified alert is printed\n"
        "as one JSON line on stdout before the request is answered 200.\n"
        "An alert shown before is printed with \"repeat\":true, never as\n"
        "new; one created more than --max-age ago with \"stale\":true.\n"
        "\n"
        "  -l, --listen ADDR      address to listen on (port 0: any free "
        "port)\n"
        "  -k, --key FILE         recipient secret key (from keygen "
        "recipient);\n"
        "                         repeat to keep keys rotated out\n"
        "  -s, --secret S         webhook secret: a file, or whsec_... itself\n"
        "  -d, --devices DIR      device public keys, as DIR/<device_id>.pub\n"
        "      --directory FILE   device keys from the signed directory\n"
        "      --org-key KEY      organisation public key (or org.pub) it\n"
        "                         must verify with\n"
        "      --recipient-id ID  refuse alerts addressed to another "
        "recipient\n"
        "      --path PATH        accept only this URL path (default: any)\n"
        "      --pretty           an alarm card per alert, for people, "
        "instead\n"
        "                         of JSON (Dutch; LANGUAGE=en for English)\n"
        "      --timezone ZONE    local time on the card (default:\n"
        "                         timezone of [contactpoint], else of\n"
        "                         [client], else Europe/Amsterdam)\n"
        "      --state-dir DIR    remember the alerts shown in DIR/shown,\n"
        "                         across restarts (default: until exit)\n"
        "      --remember N       at most N, oldest forgotten first\n"
        "                         (default 50000)\n"
        "      --max-age S        an alert created longer ago is stale\n"
        "                         (default 600; 0: no limit)\n"
        "      --old mark|refuse  show a stale alert marked (default), or\n"
        "                         refuse it with 422\n"
        "      --max-connections N  connections open at once (default 128);\n"
        "                         at the cap a newcomer closes an unfinished\n"
        "                         one of the address holding the most\n"
        "      --max-per-address N  of them from one address (default 32)\n"
        "      --request-timeout S  seconds from connect to a whole request\n"
        "                         (default 10)\n"
        "\n"
        "Without --key or --directory, recipient_key, directory and org_key\n"
        "of [contactpoint] in alertctl.conf (alertctl -c FILE) are used.\n")},
    {"org",
        "Usage: alertctl org init [--org DIR] [--relay HOST:PORT]... "
        "[--pin PIN]...\n"
        "       alertctl org set [--org DIR] [--relay HOST:PORT]... "
        "[--pin PIN]...\n"
        "       alertctl org show [--org DIR] [--json]\n"
        "\n"
        "The administrator's organisation directory: the organisation key\n"
        "(org.key, org.pub) and the source of the signed directory\n"
        "(directory.json).\n"
        "\n"
        "init: makes DIR (mode 0700), the organisation key pair and the\n"
        "      source at version 0, and prints the public key: the org_key\n"
        "      of relays and devices.  Refused where an organisation is.\n"
        "set:  replaces the relays and/or the relay pins that the next\n"
        "      signed directory announces.  Before a relay's certificate\n"
        "      changes, announce both pins: org set --pin OLD --pin NEW.\n"
        "show: the organisation key, the version last signed, whether the\n"
        "      source changed since, the relays, pins and counts.\n"
        "\n"
        "      --org DIR         the organisation directory (default:\n"
        "                        $ALERTCTL_ORG, else\n"
        "                        ~/.local/share/alertrelay/org)\n"
        "      --relay HOST:PORT a relay devices connect to; repeat for "
        "more\n"
        "      --pin PIN         a relay pin (alertctl pin); repeat for "
        "more\n"
        "      --json            show: one JSON document (alertctl(1))\n"},
    {"device",
        "Usage: alertctl device add ALIAS [--id ID] [-o BUNDLE] [--org DIR]\n"
        "       alertctl device revoke ID [--org DIR]\n"
        "       alertctl device rotate ID [-o BUNDLE] [--org DIR]\n"
        "       alertctl device list [--org DIR] [--json]\n"
        "       alertctl device forget ID [--by NAME] [--admin HOST:PORT]\n"
        "           [--token-file FILE]\n"
        "\n"
        "The devices of the directory (directory.json); sign it after a\n"
        "change (alertctl directory sign).\n"
        "\n"
        "add:    a new device: an Ed25519 key pair, its public key in the\n"
        "        directory (active), and its enrollment bundle (mode 0600)\n"
        "        with the secret key, relays, pins and organisation key,\n"
        "        for 'alertctl enroll' on the device.  Needs relays and\n"
        "        pins (org init or org set).\n"
        "revoke: marks the device revoked: the relays refuse it.\n"
        "rotate: a new key pair and bundle; the old public key stays as a\n"
        "        retired key, so that alerts it signed until now verify.\n"
        "list:   one line per device: id, alias, status (tab-separated).\n"
        "forget: at the relay, erases every alert, event and index entry\n"
        "        of device ID (a person's request to erase their data);\n"
        "        the relay's audit log keeps only that it happened, by\n"
        "        whom and how many records.  Needs the admin token; the\n"
        "        device stays in the directory (revoke it for that).\n"
        "\n"
        "      --id ID          the device id (default: the alias in lower\n"
        "                       case, other than a-z 0-9 . _ - made '-')\n"
        "  -o, --output BUNDLE  the bundle (default: DIR/devices/ID.bundle,\n"
        "                       which rotate replaces); never overwritten\n"
        "      --org DIR        the organisation directory (alertctl org)\n"
        "      --json           list: one JSON document (alertctl(1))\n"
        "      --by NAME        forget: who erases, for the audit log\n"
        "                       (default: $USER)\n"
        "      --admin HOST:PORT  forget: the relay's [admin] listen address\n"
        "                       (default: 127.0.0.1:9464)\n"
        "      --token-file FILE  forget: the token of the relay's [admin]\n"
        "                       token_file (default:\n"
        "                       $ALERTCTL_ADMIN_TOKEN_FILE)\n"},
    {"recipient", N_(
        "Usage: alertctl recipient add ALIAS [--id ID] [--webhook URL]\n"
        "           [--sms NUMBER] [--org DIR]\n"
        "       alertctl recipient rotate ID [--org DIR]\n"
        "       alertctl recipient remove ID [--org DIR]\n"
        "       alertctl recipient list [--org DIR] [--json]\n"
        "\n"
        "The recipients every alert is sealed to (directory.json); sign it\n"
        "after a change (alertctl directory sign).\n"
        "\n"
        "add:    a new recipient: an X25519 key pair, DIR/recipients/ID.key\n"
        "        (mode 0600, for the contact point's alertctl receive) and\n"
        "        ID.pub, and how the relay reaches it: --webhook, --sms or\n"
        "        both.\n"
        "rotate: a new key pair; the old secret key stays as\n"
        "        ID.key.<unix time>, so that what was sealed to it opens.\n"
        "remove: takes it out of the directory; its key files stay.\n"
        "list:   one line per recipient: id, alias, channels (tab-separated).\n"
        "        An SMS-only recipient has no key to hand over.\n"
        "\n"
        "      --id ID          the recipient id (default: from the alias,\n"
        "                       as for devices)\n"
        "      --webhook URL    the http(s) URL the relay posts alerts to\n"
        "      --sms NUMBER     the number texts go to: +31612345678, or as\n"
        "                       written (06 1234 5678, 0031...), taken as "
        "E.164\n"
        "      --org DIR        the organisation directory (alertctl org)\n"
        "      --json           list: one JSON document (alertctl(1))\n")},
    {"directory",
        "Usage: alertctl directory sign [--org DIR] [-o FILE]\n"
        "       alertctl directory show FILE [--org DIR | --org-key KEY]\n"
        "\n"
        "sign: raises the version of directory.json by one, stamps\n"
        "      issued_at, checks it and signs it with org.key, as\n"
        "      DIR/directory.signed.  Give that file to the relays ([relay]\n"
        "      directory), then run alertctl reload there.\n"
        "show: verifies a signed directory with the organisation key and\n"
        "      prints its version, relays, pins, devices and recipients;\n"
        "      exit status 1 when the signature does not verify.\n"
        "\n"
        "  -o, --output FILE  also write the signed directory as FILE\n"
        "      --org DIR      the organisation directory (alertctl org);\n"
        "                     show checks with its org.pub\n"
        "      --org-key KEY  the organisation's public key, base64\n"},
    {"enroll", N_(
        "Usage: alertctl [-c CONFIG] enroll BUNDLE [--dir DIR] [--force]\n"
        "       [--pin]\n"
        "\n"
        "Sets this device up from the enrollment bundle the administrator\n"
        "made (alertctl device add): writes the device's secret key,\n"
        "device.key, and the client configuration with the relays, pins,\n"
        "device id and organisation key, both mode 0600.  The bundle must\n"
        "be mode 0600 (it holds the secret key); delete it afterwards.\n"
        "\n"
        "      --dir DIR      write DIR/alertctl.conf and DIR/device.key\n"
        "      --force        replace a configuration and key that exist\n"
        "      --pin          then set the PIN and duress PIN (pincode set)\n"
        "  -c, --config FILE  the configuration to write, device.key next\n"
        "                     to it (default: $ALERTCTL_CONF, else\n"
        "                     ~/.config/alertrelay/alertctl.conf)\n")},
    {"reload",
        "Usage: alertctl reload [--admin HOST:PORT] [--token-file FILE]\n"
        "\n"
        "Asks the running alertrelayd to reload its configuration, keys and\n"
        "directory, on its admin listener (POST /reload), and prints\n"
        "'reloaded: directory version N'.  When the relay refuses what it\n"
        "would load, it keeps running with what it had; reload prints why,\n"
        "exit status 1.\n"
        "\n"
        "      --admin HOST:PORT  the relay's [admin] listen address\n"
        "                         (default: 127.0.0.1:9464)\n"
        "      --token-file FILE  the token of the relay's [admin]\n"
        "                         token_file (mode 0600; default:\n"
        "                         $ALERTCTL_ADMIN_TOKEN_FILE)\n"},
    {"deadletter",
        "Usage: alertctl deadletter list [--limit N] [--json] [options]\n"
        "       alertctl deadletter replay ID... | --all [options]\n"
        "\n"
        "The notifications the relay gave up (its dead-letter stream): an\n"
        "alarm whose alert closed or expired before it reached its\n"
        "recipient, a follow-up (acknowledged, cancelled) that failed\n"
        "max_attempts times, or one that cannot be sent at all.\n"
        "list prints the newest first, one per line, tab-separated: id,\n"
        "time, alert, recipient, channel, event, reason.  replay puts the\n"
        "given ones (or all) back to be sent again, whatever the state of\n"
        "their alert, up to max_attempts; exit status 1 when an id is not\n"
        "(or no longer) there.  Both need the relay's admin token.\n"
        "\n"
        "      --admin HOST:PORT  the relay's [admin] listen address\n"
        "                         (default: 127.0.0.1:9464)\n"
        "      --token-file FILE  the token of the relay's [admin]\n"
        "                         token_file (mode 0600; default:\n"
        "                         $ALERTCTL_ADMIN_TOKEN_FILE)\n"
        "      --limit N          list at most N (1..200, default 100)\n"
        "      --all              replay every dead letter (200 at a time)\n"
        "      --json             print the relay's answer as JSON\n"},
    {"audit",
        "Usage: alertctl audit export [--since T] [--until T]\n"
        "           [--format json|csv] [options]\n"
        "       alertctl audit verify [--public-key-file FILE |\n"
        "           --public-key KEY] [options]\n"
        "       alertctl audit keygen PREFIX\n"
        "\n"
        "The relay's audit log: one hash-chained record per security\n"
        "event (who did what, to what, from where, when, with what\n"
        "result; never alert content), its head signed every\n"
        "[audit] sign_every records.  export prints the records (json:\n"
        "their own lines, which verify reads back with --file; csv: one\n"
        "row each).  verify checks the numbers, the links, the signed\n"
        "heads and that the log reaches the last head the relay signed;\n"
        "it names the first record that does not verify and exits 1.\n"
        "keygen makes the relay's audit key pair (PREFIX.key, mode 0600,\n"
        "for [audit] key_file; PREFIX.pub for verify) and prints the\n"
        "public key.  Records come from the relay's admin listener (with\n"
        "the admin token), or with --file from an audit file or export.\n"
        "\n"
        "      --since T          from UTC time T (2026-01-31T12:00:00Z)\n"
        "      --until T          up to, not including, UTC time T\n"
        "      --format F         json (default) or csv\n"
        "      --public-key-file FILE  the relay's audit public key\n"
        "      --public-key KEY   the same, in base64\n"
        "      --file FILE        read an audit file or json export\n"
        "      --instance ID      another relay instance on the same Redis\n"
        "      --admin HOST:PORT  the relay's [admin] listen address\n"
        "                         (default: 127.0.0.1:9464)\n"
        "      --token-file FILE  the token of the relay's [admin]\n"
        "                         token_file (default:\n"
        "                         $ALERTCTL_ADMIN_TOKEN_FILE)\n"},
};
/* clang-format on */

static const struct usage_text *
usage_find(const char *command)
{
	size_t i;

	for (i = 0; i < sizeof(usage_texts) / sizeof(usage_texts[0]); i++) {
		const char *c = usage_texts[i].command;

		if ((c == NULL && command == NULL) ||
		    (c != NULL && command != NULL && strcmp(c, command) == 0))
			return &usage_texts[i];
	}
	return NULL;
}

void
usage_print(const char *command, FILE *f)
{
	const struct usage_text *u = usage_find(command);

	/* The official's and the contact point's commands have their
	 * help in the reader's language (N_() above); the others are in
	 * English. */
	if (u != NULL)
		fputs(_(u->text), f);
}

int
usage_known(const char *command)
{
	return command != NULL && usage_find(command) != NULL;
}

int
usage_error(const char *command, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A usage error ends the command: "alertctl: error: ...". */
	if (command != NULL)
		log_errorx(_("%s: %s (see 'alertctl %s --help')"), command, msg,
		    command);
	else
		log_errorx(_("%s (see 'alertctl --help')"), msg);
	return EXIT_USAGE;
}

const struct usage_sub *
usage_sub_find(const char *command, const struct usage_sub *subs, size_t nsubs,
    const char *sub, int nargs)
{
	size_t i;

	for (i = 0; i < nsubs; i++)
		if (strcmp(sub, subs[i].name) == 0)
			break;
	if (i == nsubs) {
		usage_error(command, _("unknown subcommand '%s'"), sub);
		return NULL;
	}
	if (nargs != (subs[i].arg != NULL ? 1 : 0)) {
		if (subs[i].arg != NULL)
			usage_error(command, _("%s takes %s"), sub,
			    subs[i].arg);
		else
			usage_error(command, _("%s takes no argument"), sub);
		return NULL;
	}
	return &subs[i];
}
