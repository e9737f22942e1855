import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { configToToml, DEFAULT_CONFIG, parseCommandLine, usageText, type CliResult } from "../src/config/config.ts";
import type { Config } from "../src/config/types.ts";
import { VERSION } from "../src/version.ts";

type Key = keyof Config;

// The naming scheme, written out independently of config.ts so a drift in either shows up here.
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
const envOf = (k: string) => "TRACKER_" + snake(k).toUpperCase();

/** What parseCommandLine makes of argv, env and these config files. */
function result(argv: string[], env: Record<string, string | undefined> = {}, files: Record<string, string> = {}): CliResult {
  return parseCommandLine(argv, env, (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file ${path}`);
    return text;
  });
}

function run(argv: string[], env: Record<string, string | undefined> = {}, files: Record<string, string> = {}): Config {
  const r = result(argv, env, files);
  if (r.kind !== "run") throw new Error(`expected a config, got ${JSON.stringify(r)}`);
  return r.config;
}

function failure(argv: string[], env: Record<string, string | undefined> = {}, files: Record<string, string> = {}): string {
  const r = result(argv, env, files);
  if (r.kind !== "error") throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.message;
}

const fromFile = (toml: string, argv: string[] = [], env: Record<string, string> = {}) =>
  run(["--config", "t.toml", ...argv], env, { "t.toml": toml });
const fileFailure = (toml: string) => failure(["--config", "t.toml"], {}, { "t.toml": toml });

describe("defaults", () => {
  test("no arguments give the documented defaults", () => {
    expect(run([])).toEqual({
      port: 6969,
      host: "::",
      udp: true,
      http: true,
      interval: 299,
      intervalMin: 239,
      intervalMax: 1799,
      intervalStepPeriod: 900,
      intervalStep: 60,
      maxLoad: availableParallelism() - 0.5,
      peerTimeout: 2700,
      torrentRetention: 86400,
      numwantDefault: 50,
      numwantMax: 200,
      scrapeMaxHashes: 74,
      maxTorrents: 10_000_000,
      maxPeers: 50_000_000,
      fullScrape: false,
      fullScrapeCache: 30,
      fullScrapeMaxConcurrent: 4,
      quiet: false,
      logRequests: false,
      peerIds: true,
      statsAllow: [],
      udpSecret: "",
      tlsPort: 0,
      tlsCert: "",
      tlsKey: "",
      httpIdleTimeout: 10,
      trustProxyHeader: "",
      completionsPerAddress: 3,
      announcesPerMinute: 3000,
      udpConnectsPerMinute: 3000,
      udpBadIdAnswersPerMinute: 60,
      store: "memory",
      stateFile: "",
      stateInterval: 300,
      accessMode: "off",
      accessList: "",
      private: false,
      db: "tracker.sqlite",
      ws: true,
      wsMaxMessageBytes: 65_536,
      wsMaxOffers: 10,
      wsMessagesPerMinute: 600,
      wsIdleTimeout: 300,
      wsOfferTimeout: 120,
      wsMaxConnections: 100_000,
    });
  });

  test("DEFAULT_CONFIG is frozen and the result is a fresh copy", () => {
    expect(Object.isFrozen(DEFAULT_CONFIG)).toBe(true);
    expect(Object.isFrozen(DEFAULT_CONFIG.statsAllow)).toBe(true);
    const c = run([]);
    c.statsAllow.push("::1");
    c.port = 1;
    expect(DEFAULT_CONFIG.statsAllow).toEqual([]);
    expect(DEFAULT_CONFIG.port).toBe(6969);
  });

  test("access-mode allow or deny without an access-list is refused, naming both", () => {
    const m = failure(["--access-mode", "allow"]);
    expect(m).toContain("access-mode allow needs an access-list");
    expect(m).toContain(`access-list is "" (the default)`);
    expect(failure(["--access-mode", "sometimes", "--access-list", "x"])).toContain("must be off, allow or deny");
  });

  test("the defaults satisfy their own rules", () => {
    const d = DEFAULT_CONFIG;
    expect(d.intervalMin).toBeLessThanOrEqual(d.interval);
    expect(d.interval).toBeLessThanOrEqual(d.intervalMax);
    expect(d.peerTimeout).toBeGreaterThan(d.intervalMax);
    expect(d.numwantDefault).toBeLessThanOrEqual(d.numwantMax);
  });

  test("environment variables that are not TRACKER_* are ignored", () => {
    expect(run([], { PATH: "/usr/bin", HOME: "/root", TRACKERX: "1", tracker_port: "1" })).toEqual(run([]));
  });
});

// One non-default value per setting: [text for flag/env, TOML literal, expected value].
const SAMPLES: Record<Key, [string, string, Config[Key]]> = {
  port: ["8080", "8080", 8080],
  host: ["127.0.0.1", '"127.0.0.1"', "127.0.0.1"],
  udp: ["false", "false", false],
  http: ["false", "false", false],
  interval: ["600", "600", 600],
  intervalMin: ["60", "60", 60],
  intervalMax: ["1800", "1800", 1800],
  intervalStepPeriod: ["60", "60", 60],
  intervalStep: ["30", "30", 30],
  maxLoad: ["3.25", "3.25", 3.25],
  peerTimeout: ["3600", "3600", 3600],
  torrentRetention: ["0", "0", 0],
  numwantDefault: ["20", "20", 20],
  numwantMax: ["100", "100", 100],
  scrapeMaxHashes: ["50", "50", 50],
  maxTorrents: ["1000", "1_000", 1000],
  maxPeers: ["5000", "5000", 5000],
  fullScrape: ["true", "true", true],
  fullScrapeCache: ["5", "5", 5],
  fullScrapeMaxConcurrent: ["2", "2", 2],
  logRequests: ["true", "true", true],
  quiet: ["true", "true", true],
  peerIds: ["false", "false", false],
  statsAllow: ["127.0.0.1,::1", '["127.0.0.1", "::1"]', ["127.0.0.1", "::1"]],
  udpSecret: ["0123456789abcdef0123", '"0123456789abcdef0123"', "0123456789abcdef0123"],
  tlsPort: ["8443", "8443", 8443],
  tlsCert: ["/etc/tracker/fullchain.pem", '"/etc/tracker/fullchain.pem"', "/etc/tracker/fullchain.pem"],
  tlsKey: ["/etc/tracker/privkey.pem", '"/etc/tracker/privkey.pem"', "/etc/tracker/privkey.pem"],
  httpIdleTimeout: ["255", "255", 255],
  trustProxyHeader: ["x-forwarded-for", '"x-forwarded-for"', "x-forwarded-for"],
  completionsPerAddress: ["0", "0", 0],
  announcesPerMinute: ["10", "10", 10],
  udpConnectsPerMinute: ["0", "0", 0],
  udpBadIdAnswersPerMinute: ["5", "5", 5],
  store: ["redis://127.0.0.1:6379/2", '"redis://127.0.0.1:6379/2"', "redis://127.0.0.1:6379/2"],
  stateFile: ["/var/lib/tracker/state", '"/var/lib/tracker/state"', "/var/lib/tracker/state"],
  stateInterval: ["0", "0", 0],
  accessMode: ["deny", '"deny"', "deny"],
  accessList: ["/etc/tracker/deny.txt", '"/etc/tracker/deny.txt"', "/etc/tracker/deny.txt"],
  private: ["true", "true", true],
  db: ["/var/lib/tracker/keys.sqlite", '"/var/lib/tracker/keys.sqlite"', "/var/lib/tracker/keys.sqlite"],
  ws: ["false", "false", false],
  wsMaxMessageBytes: ["4096", "4096", 4096],
  wsMaxOffers: ["5", "5", 5],
  wsMessagesPerMinute: ["0", "0", 0],
  wsIdleTimeout: ["60", "60", 60],
  wsOfferTimeout: ["30", "30", 30],
  wsMaxConnections: ["1000", "1000", 1000],
};
/**
 * Flags a sample needs beside it to pass the cross rules (access-mode needs a list; the TLS
 * settings go together), and the values those flags set.
 */
const CONTEXT: Partial<Record<Key, { args: string[]; values: Partial<Config> }>> = {
  accessMode: { args: ["--access-list", "/etc/tracker/deny.txt"], values: { accessList: "/etc/tracker/deny.txt" } },
  tlsPort: { args: ["--tls-cert", "/c.pem", "--tls-key", "/k.pem"], values: { tlsCert: "/c.pem", tlsKey: "/k.pem" } },
  tlsCert: { args: ["--tls-port", "8443", "--tls-key", "/k.pem"], values: { tlsPort: 8443, tlsKey: "/k.pem" } },
  tlsKey: { args: ["--tls-port", "8443", "--tls-cert", "/c.pem"], values: { tlsPort: 8443, tlsCert: "/c.pem" } },
};
const KEYS = Object.keys(SAMPLES) as Key[];

describe("every setting is a flag, an environment variable and a TOML key", () => {
  test("the sample table covers every Config field", () => {
    expect(KEYS.sort()).toEqual((Object.keys(DEFAULT_CONFIG) as Key[]).sort());
  });

  // udp=false alone is fine (http still on); the other samples are chosen to pass the cross rules
  // on their own with the remaining defaults.
  test.each(KEYS)("%s", (key) => {
    const [text, literal, expected] = SAMPLES[key];
    const isBool = typeof expected === "boolean";
    const ctx = CONTEXT[key]?.args ?? [];
    const want = { ...run([]), ...CONTEXT[key]?.values, [key]: expected };

    if (isBool) {
      expect(run([...ctx, expected ? `--${kebab(key)}` : `--no-${kebab(key)}`])).toEqual(want);
      expect(run([...ctx, `--${kebab(key)}=${text}`])).toEqual(want);
    } else {
      expect(run([...ctx, `--${kebab(key)}`, text])).toEqual(want);
      expect(run([...ctx, `--${kebab(key)}=${text}`])).toEqual(want);
    }
    expect(run(ctx, { [envOf(key)]: text })).toEqual(want);
    expect(fromFile(`${snake(key)} = ${literal}\n`, ctx)).toEqual(want);
  });
});

describe("command line", () => {
  test("sc6 positionals: [port] [interval]", () => {
    expect(run(["8080"]).port).toBe(8080);
    const c = run(["80", "600"]);
    expect([c.port, c.interval]).toEqual([80, 600]);
    expect(run(["--", "8081"]).port).toBe(8081);
  });

  test("positionals mix with options", () => {
    const c = run(["--quiet", "8080", "--host", "::1", "600"]);
    expect([c.port, c.interval, c.quiet, c.host]).toEqual([8080, 600, true, "::1"]);
  });

  test("positional port and --port together are a conflict", () => {
    expect(failure(["80", "--port", "81"])).toContain("--port");
    expect(failure(["80", "600", "--interval", "601"])).toContain("--interval");
  });

  test("too many positionals", () => {
    expect(failure(["80", "600", "7"])).toContain("too many arguments");
  });

  test("booleans: --x, --no-x, --x=false, and --no-x also for default-false ones", () => {
    expect(run(["--no-udp"]).udp).toBe(false);
    expect(run(["--udp"]).udp).toBe(true);
    expect(run(["--udp=no"]).udp).toBe(false);
    expect(run(["--no-full-scrape"], { TRACKER_FULL_SCRAPE: "1" }).fullScrape).toBe(false);
  });

  test("a boolean flag does not take the next argument as its value", () => {
    const c = run(["--quiet", "8080"]);
    expect([c.quiet, c.port]).toEqual([true, 8080]);
  });

  test("lists are comma-separated, spaces and empty items ignored", () => {
    expect(run(["--stats-allow", " 127.0.0.1 , ::1,,"]).statsAllow).toEqual(["127.0.0.1", "::1"]);
    expect(run(["--stats-allow="]).statsAllow).toEqual([]);
  });

  test("integers may use _ separators; floats for max-load", () => {
    expect(run(["--max-peers", "1_000_000"]).maxPeers).toBe(1_000_000);
    expect(run(["--max-load", "0.75"]).maxLoad).toBe(0.75);
    expect(run(["--max-load", "2"]).maxLoad).toBe(2);
  });

  test("a value that starts with a single dash is taken (and validated)", () => {
    expect(failure(["--max-load", "-1"])).toContain("--max-load");
    expect(failure(["--port", "-1"])).toMatch(/--port: -1 is out of range.*0\.\.65535/);
    expect(failure(["-1"])).toMatch(/port argument: -1 is out of range/);
  });

  test.each([
    [["--prot", "80"], /unknown option --prot \(did you mean --port\?\)/],
    [["--bogus"], /unknown option --bogus/],
    [["-x"], /unknown option -x/],
    [["--no-port"], /unknown option --no-port/],
    [["--no-udp=1"], /--no-udp takes no value/],
    [["--port"], /--port needs a value/],
    [["--host", "--quiet"], /--host needs a value/],
    [["--config"], /--config needs a value/],
    [["--port", "1", "--port", "2"], /--port is given twice/],
    [["--port", "http"], /--port: "http" is not an integer in 0\.\.65535/],
    [["--port", "65536"], /--port: 65536 is out of range/],
    [["--port", "1.5"], /--port: "1.5" is not an integer/],
    [["--port", "0x10"], /--port: "0x10" is not an integer/],
    [["--port", "1e3"], /--port: "1e3" is not an integer/],
    [["--port", ""], /--port: "" is not an integer/],
    [["--max-load", "0"], /--max-load: 0 must be greater than 0/],
    [["--max-load", "fast"], /--max-load: "fast" is not a number/],
    [["--full-scrape=maybe"], /--full-scrape: "maybe" is not true or false/],
    [["--host", "example.com"], /--host: "example.com" must be an IP address literal/],
    [["--host", "[::1]"], /--host: "\[::1\]" must be an IP address literal/],
    [["--stats-allow", "127.0.0.1,10.0.0.0/8"], /--stats-allow: .*"10\.0\.0\.0\/8" is not one/],
    [["--http-idle-timeout", "0"], /--http-idle-timeout: 0 is out of range.*1\.\.255/],
    [["--http-idle-timeout", "256"], /--http-idle-timeout: 256 is out of range/],
    [["--numwant-max", "5000"], /--numwant-max: 5000 is out of range/],
    [["--scrape-max-hashes", "0"], /--scrape-max-hashes: 0 is out of range/],
    [["--interval", "0"], /--interval: 0 is out of range/],
    [["--trust-proxy-header", "x forwarded"], /--trust-proxy-header: .* must be empty or an HTTP header name/],
  ] as const)("%p is rejected", (argv, message) => {
    expect(failure([...argv])).toMatch(message);
  });

  test("a short udp-secret is rejected without echoing it", () => {
    const msg = failure(["--udp-secret", "hunter2"]);
    expect(msg).toContain("--udp-secret");
    expect(msg).toContain("16 characters");
    expect(msg).not.toContain("hunter2");
    expect(fileFailure('udp_secret = "hunter2"')).not.toContain("hunter2");
  });
});

describe("rules between settings", () => {
  test.each([
    [["--interval", "200"], /interval must lie within interval-min\.\.interval-max.*interval is 200 \(from --interval\).*interval-min is 239 \(the default\)/],
    [["--interval", "1800"], /interval must lie within.*interval-max is 1799 \(the default\)/],
    [["--interval-min", "600", "--interval-max", "500"], /interval-min must not exceed interval-max/],
    [["--peer-timeout", "1799"], /peer-timeout must be greater than interval-max.*peer-timeout is 1799 \(from --peer-timeout\)/],
    [["--numwant-default", "300"], /numwant-default must not exceed numwant-max.*numwant-max is 200 \(the default\)/],
    [["--no-udp", "--no-http"], /udp and http are both off/],
  ] as const)("%p is rejected", (argv, message) => {
    expect(failure([...argv])).toMatch(message);
  });

  test("the message names where each value came from", () => {
    expect(failure([], { TRACKER_INTERVAL_MAX: "3600" })).toMatch(
      /peer-timeout is 2700 \(the default\) and interval-max is 3600 \(from TRACKER_INTERVAL_MAX\)/,
    );
    expect(fileFailure("interval_min = 300")).toMatch(/interval-min is 300 \(from t\.toml\)/);
  });

  test("interval may sit exactly on either bound; peer-timeout one above interval-max", () => {
    expect(run(["--interval", "239"]).interval).toBe(239);
    expect(run(["--interval", "1799"]).interval).toBe(1799);
    expect(run(["--peer-timeout", "1800"]).peerTimeout).toBe(1800);
    expect(run(["--numwant-default", "200"]).numwantDefault).toBe(200);
  });

  test("rules apply to the merged result, so raising both limits together works", () => {
    const c = run(["--interval-max", "3600", "--peer-timeout", "7200"]);
    expect([c.intervalMax, c.peerTimeout]).toEqual([3600, 7200]);
  });
});

describe("environment", () => {
  test("booleans accept true/false, 1/0, yes/no, on/off in any case", () => {
    for (const t of ["true", "1", "yes", "ON", "True"]) expect(run([], { TRACKER_QUIET: t }).quiet).toBe(true);
    for (const f of ["false", "0", "no", "OFF"]) expect(run([], { TRACKER_UDP: f }).udp).toBe(false);
    expect(failure([], { TRACKER_QUIET: "y" })).toMatch(/TRACKER_QUIET: "y" is not true or false/);
  });

  test("an empty variable counts as unset", () => {
    expect(run([], { TRACKER_PORT: "", TRACKER_HOST: undefined })).toEqual(run([]));
  });

  test("unknown TRACKER_* variables are rejected, with a hint", () => {
    expect(failure([], { TRACKER_PROT: "80" })).toBe(
      "unknown environment variable TRACKER_PROT (did you mean TRACKER_PORT?)",
    );
    expect(failure([], { TRACKER_WHATEVER: "x" })).toContain("TRACKER_WHATEVER");
  });

  test("wrong values name the variable", () => {
    expect(failure([], { TRACKER_PORT: "99999" })).toMatch(/^TRACKER_PORT: 99999 is out of range/);
    expect(failure([], { TRACKER_STATS_ALLOW: "localhost" })).toMatch(/^TRACKER_STATS_ALLOW: /);
  });
});

describe("config file", () => {
  test("TOML types are taken as written", () => {
    const c = fromFile(
      [
        "port = 7000",
        'host = "0.0.0.0"',
        "full_scrape = true",
        "max_load = 0.5",
        "max_torrents = 1_000_000",
        'stats_allow = ["::1"]',
        "# comments are fine",
      ].join("\n"),
    );
    expect([c.port, c.host, c.fullScrape, c.maxLoad, c.maxTorrents, c.statsAllow]).toEqual([
      7000,
      "0.0.0.0",
      true,
      0.5,
      1_000_000,
      ["::1"],
    ]);
  });

  test("an empty file changes nothing", () => {
    expect(fromFile("")).toEqual(run([]));
  });

  test("TRACKER_CONFIG names the file; --config wins over it", () => {
    const files = { "a.toml": "port = 1111", "b.toml": "port = 2222" };
    expect(run([], { TRACKER_CONFIG: "a.toml" }, files).port).toBe(1111);
    expect(run(["--config=b.toml"], { TRACKER_CONFIG: "a.toml" }, files).port).toBe(2222);
  });

  test.each([
    ['port = "80"', /^t\.toml: port: "80" is not an integer in 0\.\.65535$/],
    ["port = 80.5", /t\.toml: port: 80\.5 is not an integer/],
    ["port = 70000", /t\.toml: port: 70000 is out of range/],
    ["udp = 1", /t\.toml: udp: 1 is not true or false/],
    ['udp = "true"', /t\.toml: udp: "true" is not true or false/],
    ['host = 127', /t\.toml: host: 127 is not text/],
    ['stats_allow = "127.0.0.1"', /t\.toml: stats_allow: .* is not a list of strings/],
    ["stats_allow = [1, 2]", /t\.toml: stats_allow: an array is not a list of strings/],
    ['stats_allow = ["nope"]', /t\.toml: stats_allow: .*"nope" is not one/],
    ["max_load = inf", /t\.toml: max_load: Infinity is not a number/],
    ["prot = 80", /^t\.toml: unknown key "prot" \(did you mean port\?\)$/],
    ["Port = 80", /t\.toml: unknown key "Port"/],
    ["peer-timeout = 80", /t\.toml: unknown key "peer-timeout" \(did you mean peer_timeout\?\)/],
    ["[tracker]\nport = 80", /t\.toml: unknown key "tracker"/],
    ["[port]\nx = 1", /t\.toml: port: a table is not an integer/],
    ["port = 80\nport = 81", /t\.toml: not valid TOML/],
    ["port =", /t\.toml: not valid TOML/],
  ] as const)("%p is rejected", (toml, message) => {
    expect(fileFailure(toml)).toMatch(message);
  });

  test("an unreadable file is an error naming it", () => {
    expect(failure(["--config", "missing.toml"])).toMatch(/^cannot read config file missing\.toml: .*ENOENT/);
  });

  test("the real default reader reads from disk", async () => {
    const path = `${require("node:os").tmpdir()}/sc6-config-test-${process.pid}.toml`;
    await Bun.write(path, "port = 4242\n");
    try {
      const r = parseCommandLine(["--config", path], {});
      expect(r.kind === "run" && r.config.port).toBe(4242);
    } finally {
      require("node:fs").unlinkSync(path);
    }
  });
});

describe("precedence: flag > env > file > default", () => {
  const files = { "t.toml": "port = 1000\ninterval = 400\nquiet = true\nhost = \"127.0.0.1\"\n" };

  test("each layer overrides only what it sets", () => {
    const c = run(["--config", "t.toml", "--port", "3000"], { TRACKER_PORT: "2000", TRACKER_INTERVAL: "500" }, files);
    expect(c.port).toBe(3000); // flag over env over file
    expect(c.interval).toBe(500); // env over file
    expect(c.quiet).toBe(true); // file over default
    expect(c.host).toBe("127.0.0.1");
    expect(c.numwantMax).toBe(200); // default
  });

  test("env over file", () => {
    expect(run(["--config", "t.toml"], { TRACKER_PORT: "2000" }, files).port).toBe(2000);
  });

  test("a positional port is a flag too", () => {
    expect(run(["--config", "t.toml", "4000"], { TRACKER_PORT: "2000" }, files).port).toBe(4000);
  });

  test("--no-x on the command line beats x = true in the file", () => {
    expect(run(["--config", "t.toml", "--no-quiet"], {}, files).quiet).toBe(false);
  });
});

describe("--help and --print-config", () => {
  test("-h and --help return the usage text", () => {
    for (const flag of ["-h", "--help"]) {
      const r = parseCommandLine([flag], {});
      expect(r).toEqual({ kind: "help", text: usageText() });
    }
  });

  test("the usage names every signal the tracker handles, and the live settings", () => {
    const text = usageText();
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2"]) expect(text).toContain(signal);
    expect(text).toMatch(/--numwant-default <n>[^\n]*\n {6}[^\n]*Reloaded on SIGHUP\./);
    expect(text).not.toMatch(/--numwant-max <n>[^\n]*\n {6}[^\n]*Reloaded on SIGHUP/);
  });

  test("help wins over mistakes elsewhere on the line", () => {
    expect(parseCommandLine(["--bogus", "--help"], { TRACKER_NOPE: "1" }).kind).toBe("help");
  });

  test("after -- a '--help' is a positional, not a request for help", () => {
    expect(parseCommandLine(["--", "--help"], {}).kind).toBe("error");
  });

  test("the usage text names the usage line, every flag and every variable", () => {
    const text = usageText();
    expect(text).toContain("Usage: sc6-tracker [port] [interval] [options]");
    for (const flag of ["--help", "--print-config", "--config", "TRACKER_CONFIG", "--no-udp", "--no-full-scrape"]) {
      expect(text).toContain(flag);
    }
    for (const key of KEYS) {
      expect(text).toContain(`--${kebab(key)}`);
      expect(text).toContain(envOf(key));
    }
  });

  test("--print-config alone prints the defaults as commented TOML, the machine's max_load as a comment", () => {
    const r = parseCommandLine(["--print-config"], {});
    expect(r.kind).toBe("print-config");
    const text = (r as Extract<CliResult, { kind: "print-config" }>).text;
    for (const key of KEYS) {
      // Regression (issue 16): this machine's max_load was written as if it were a default.
      if (key === "maxLoad") expect(text).toMatch(/^# max_load = [\d.]+ +\(automatic: /m);
      else expect(text).toMatch(new RegExp(`^${snake(key)} = `, "m"));
      expect(text).toContain(envOf(key));
    }
    expect(text).not.toMatch(/^max_load = /m);
    expect(text.match(/# in force: from default/g)).toHaveLength(KEYS.length);
  });

  test("--print-config prints the settings in force, each with where it came from (regression: it printed the defaults only)", () => {
    const r = result(["--print-config", "--config", "t.toml", "--interval", "600"], { TRACKER_QUIET: "true" }, {
      "t.toml": "numwant_max = 77\nmax_load = 3.5\nudp_secret = \"0123456789abcdefXYZ\"\n",
    });
    if (r.kind !== "print-config") throw new Error(JSON.stringify(r));
    const text = r.text;
    expect(text).toMatch(/# in force: from flag --interval\ninterval = 600$/m);
    expect(text).toMatch(/# in force: from environment TRACKER_QUIET\nquiet = true$/m);
    expect(text).toMatch(/# in force: from config file t\.toml\nnumwant_max = 77$/m);
    expect(text).toMatch(/# in force: from config file t\.toml\nmax_load = 3\.5$/m); // set: written
    expect(text).toContain("# udp_secret is set (secret: not printed)");
    expect(text).not.toContain("0123456789abcdef");
    expect(text).toMatch(/# in force: from default\nport = 6969$/m);
  });

  test("--print-config with a bad setting is an error naming it (exit 2), not a printout", () => {
    expect(failure(["--print-config", "--interval", "x"])).toContain("--interval");
  });

  test("--check-config FILE: valid says so; invalid names the offending key (exit 2 in main)", () => {
    const ok = result(["--check-config", "c.toml"], {}, { "c.toml": "interval = 600\nport = 7000\n" });
    expect(ok).toMatchObject({ kind: "check-config" });
    expect((ok as { text: string }).text).toBe("c.toml: valid (2 settings from the file; --print-config shows all in force)");
    expect(failure(["--check-config", "c.toml"], {}, { "c.toml": "intreval = 600\n" })).toContain("intreval");
    expect(failure(["--check-config", "c.toml"], {}, { "c.toml": "numwant_max = -4\n" })).toContain("numwant_max");
    expect(failure(["--check-config", "missing.toml"], {}, {})).toContain("missing.toml");
  });

  test("TLS settings go together: a port needs the pair, the pair needs a port, and the port is not HTTP's", () => {
    expect(failure(["--tls-port", "8443"])).toContain("tls-port needs tls-cert and tls-key");
    expect(failure(["--tls-cert", "/c.pem", "--tls-key", "/k.pem"])).toContain("tls-cert and tls-key are used only with a tls-port");
    expect(failure(["7000", "--tls-port", "7000", "--tls-cert", "/c", "--tls-key", "/k"])).toContain("tls-port must differ from port while HTTP is on");
    expect(run(["7000", "--no-http", "--tls-port", "7000", "--tls-cert", "/c", "--tls-key", "/k"])).toMatchObject({ http: false, tlsPort: 7000 });
    expect(run(["--no-http", "--no-udp", "--tls-port", "7001", "--tls-cert", "/c", "--tls-key", "/k"])).toMatchObject({ udp: false, tlsPort: 7001 });
    expect(failure(["--no-http", "--no-udp"])).toContain("nothing to serve");
  });

  test("--version and -V print the version", () => {
    for (const flag of ["--version", "-V"]) {
      const r = parseCommandLine([flag, "--bogus"], {});
      expect(r).toEqual({ kind: "version", text: `sc6-tracker ${VERSION} (Bun ${Bun.version})` });
    }
  });

  test("--print-config round-trips: read back, it gives the defaults", () => {
    const text = (parseCommandLine(["--print-config"], {}) as { text: string }).text;
    expect(fromFile(text)).toEqual(run([]));
    expect(fromFile(text)).toEqual({ ...DEFAULT_CONFIG, statsAllow: [] });
  });

  test("configToToml round-trips a config with every value changed, tricky strings included", () => {
    const custom: Config = {
      ...run([]),
      ...(Object.fromEntries(KEYS.map((k) => [k, SAMPLES[k][2]])) as unknown as Config),
      http: true, // udp=false and http=false together are not allowed
      store: "memory", // a Redis store rules out state-file (and full scrape)
      maxLoad: 1e-7,
      udpSecret: 'quote" back\\slash \t tab \n newline \u0001 \u007f del é 🔑 #not-a-comment',
    };
    expect(fromFile(configToToml(custom))).toEqual(custom);
  });

  test("big integers are written with _ separators, which TOML reads back", () => {
    const text = configToToml(DEFAULT_CONFIG);
    expect(text).toContain("max_peers = 50_000_000");
    expect(fromFile(text).maxPeers).toBe(50_000_000);
  });
});
