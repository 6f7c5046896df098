/*
 * The Lua scripts of retention, erasure and the audit log
 * (retention_scripts.h).  Like store_scripts.c: one JSON argument, "p"
 * the key prefix; each bounded by a count it is given, so that Redis is
 * never held for long.
 */
#include "retention_scripts.h"

#define LPRELUDE                                                               \
	"local a = cjson.decode(ARGV[1])\n"                                    \
	"local P = a.p\n"                                                      \
	"local function K(...) return table.concat({P, ...}, ':') end\n"

/* One run of the sweep: ciphertexts, device-list entries and entries of
 * the alerts stream of alerts closed longer ago than their period (at
 * most a.lim of each), and the streams trimmed by time.  Trimming the
 * alerts stream and the dead letters stops at the oldest open alert
 * (drills included): an open alert is never purged, and its dead
 * letters are the only way to send what it could not deliver again
 * (closed ones after it go by their own XDEL).  Each instance names
 * itself in P:audit_instances here, and the audit streams of all named
 * are trimmed: an instance no longer running trims nothing itself. */
const char script_retention_sweep[] = LPRELUDE
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local out = {content = 0, index = 0}\n"
    "local function due(set, period)\n"
    "  return redis.call('ZRANGEBYSCORE', K('retire', set), '-inf',"
    "    now - period * 1000, 'LIMIT', 0, a.lim)\n"
    "end\n"
    "for _, aid in ipairs(due('content', a.content)) do\n"
    "  local ak = K('alert', aid)\n"
    "  local del = {}\n"
    "  for _, f in ipairs(redis.call('HKEYS', ak)) do\n"
    "    if string.sub(f, 1, 3) == 'ct:' then table.insert(del, f) end\n"
    "  end\n"
    "  if #del > 0 then redis.call('HDEL', ak, unpack(del)) end\n"
    "  redis.call('ZREM', K('retire', 'content'), aid)\n"
    "  out.content = out.content + 1\n"
    "end\n"
    "for _, m in ipairs(due('index', a.index)) do\n"
    "  local s = string.find(m, '|', 1, true)\n"
    "  if s then\n"
    "    redis.call('ZREM', K('device', string.sub(m, s + 1)),"
    "      string.sub(m, 1, s - 1))\n"
    "  end\n"
    "  redis.call('ZREM', K('retire', 'index'), m)\n"
    "  out.index = out.index + 1\n"
    "end\n"
    "out.stream = 0\n"
    "for _, sid in ipairs(due('stream', a.history)) do\n"
    "  out.stream = out.stream + redis.call('XDEL', K('alerts'), sid)\n"
    "  redis.call('ZREM', K('retire', 'stream'), sid)\n"
    "end\n"
    "local oldest = now\n"
    "local types = {'drill', unpack(a.types)}\n"
    "for _, t in ipairs(types) do\n"
    "  local o = redis.call('ZRANGE', K('open', t), 0, 0, 'WITHSCORES')\n"
    "  if o[2] and tonumber(o[2]) < oldest then oldest = tonumber(o[2]) end\n"
    "end\n"
    "local function trim(key, period)\n"
    "  return redis.call('XTRIM', key, 'MINID',"
    "    string.format('%d', math.min(now - period * 1000, oldest)))\n"
    "end\n"
    "out.alerts = trim(K('alerts'), a.history)\n"
    "out.deadletter = trim(K('deadletter'), a.deadletter)\n"
    "out.audit = 0\n"
    "redis.call('SADD', K('audit_instances'), a.inst)\n"
    "local insts = redis.call('SMEMBERS', K('audit_instances'))\n"
    "for _, i in ipairs(insts) do\n"
    "  out.audit = out.audit + redis.call('XTRIM', K('audit', i), 'MINID',"
    "    string.format('%d', now - a.audit * 1000))\n"
    "end\n"
    "return cjson.encode(out)\n";

/* Erasure of one device's data, in steps of at most a.lim: a.phase
 * names the step, a.cursor where it goes on.  Each answer says the next
 * step ("done" at the end) and what it removed.  Its running check-in
 * and its supervision go first, so that no timer of it fires during the
 * rest; then the streams: their entries name the alert, whose hash says
 * the device.  Check-ins and device events have no list per device:
 * the last step looks at every key of the prefix (SCAN, a.lim at a
 * time) for those, and for alerts already out of the device's list. */
const char script_forget[] = LPRELUDE
    "local dev = a.dev\n"
    "local out = {alerts = 0, entries = 0, keys = 0}\n"
    "local function drop_checkin(cid)\n"
    "  redis.call('ZREM', K('checkin_timers'), cid .. '|x', cid .. '|r')\n"
    "  out.keys = out.keys + redis.call('DEL', K('checkin', cid))\n"
    "end\n"
    "local function erase(aid)\n"
    "  local ak = K('alert', aid)\n"
    "  local f = redis.call('HMGET', ak, 'device_id', 'ref', 'timer',"
    "    'alert_type')\n"
    "  if f[1] and f[1] ~= dev then return end\n"
    "  if f[2] and redis.call('GET', K('ref', f[2])) == aid then\n"
    "    out.keys = out.keys + redis.call('DEL', K('ref', f[2]))\n"
    "  end\n"
    "  if f[3] then redis.call('ZREM', K('timers'), f[3]) end\n"
    "  redis.call('ZREM', K('timers'), aid .. '|x', aid .. '|sx')\n"
    "  if f[4] then redis.call('ZREM', K('open', f[4]), aid) end\n"
    "  redis.call('ZREM', K('open', 'drill'), aid)\n"
    "  redis.call('ZREM', K('retire', 'content'), aid)\n"
    "  redis.call('ZREM', K('retire', 'index'), aid .. '|' .. dev)\n"
    "  local sid = redis.call('HGET', ak, 'relay_id')\n"
    "  if sid then\n"
    "    redis.call('ZREM', K('retire', 'stream'), sid)\n"
    "    out.entries = out.entries + redis.call('XDEL', K('alerts'), sid)\n"
    "  end\n"
    "  redis.call('ZREM', K('device', dev), aid)\n"
    "  local n = redis.call('DEL', ak, K('events', aid), K('notified', aid),"
    "    K('unreached', aid), K('duress_events', aid), K('report', aid))\n"
    "  out.keys = out.keys + n\n"
    "  if f[1] then out.alerts = out.alerts + 1 end\n"
    "end\n"
    "local function field(e, name)\n"
    "  for j = 1, #e, 2 do if e[j] == name then return e[j + 1] end end\n"
    "end\n"
    "local function owner(aid)\n"
    "  return redis.call('HGET', K('alert', aid), 'device_id')\n"
    "end\n"
    "local order = {'device', 'deliveries', 'deadletter', 'alerts',"
    "  'index', 'scan', 'done'}\n"
    "local function after(ph)\n"
    "  for i, p in ipairs(order) do if p == ph then return order[i + 1] end"
    "  end\n"
    "end\n"
    "local ph = a.phase\n"
    "if ph == 'device' then\n"
    "  local cid = redis.call('GET', K('checkin_device', dev))\n"
    "  if cid and redis.call('HGET', K('checkin', cid), 'dev') == dev then\n"
    "    drop_checkin(cid)\n"
    "  end\n"
    "  redis.call('ZREM', K('supervised'), dev)\n"
    "  out.keys = out.keys + redis.call('DEL', K('checkin_device', dev),"
    "    K('supervise', dev))\n"
    "  out.phase = after(ph)\n"
    "  out.cursor = '0'\n"
    "  return cjson.encode(out)\n"
    "end\n"
    "if ph == 'index' then\n"
    "  local ids = redis.call('ZRANGE', K('device', dev), 0, a.lim - 1)\n"
    "  for _, aid in ipairs(ids) do erase(aid) end\n"
    "  out.phase = (#ids < a.lim) and 'scan' or 'index'\n"
    "  out.cursor = '0'\n"
    "  return cjson.encode(out)\n"
    "end\n"
    "if ph == 'scan' then\n"
    "  local pat = string.gsub(P, '[%*%?%[%]\\\\]', '\\\\%0') .. ':*'\n"
    "  local sc = redis.call('SCAN', a.cursor, 'MATCH', pat, 'COUNT',"
    "    a.lim)\n"
    "  local ap, cp = K('alert', ''), K('checkin', '')\n"
    "  for _, k in ipairs(sc[2]) do\n"
    "    if string.sub(k, 1, #ap) == ap then\n"
    "      local f = redis.call('HMGET', k, 'device_id', 'state')\n"
    "      if f[1] ~= dev then\n"
    "      elseif f[2] == 'notice' then\n"
    "        out.keys = out.keys + redis.call('DEL', k)\n"
    "      else erase(string.sub(k, #ap + 1)) end\n"
    "    elseif string.sub(k, 1, #cp) == cp and"
    "        redis.call('HGET', k, 'dev') == dev then\n"
    "      drop_checkin(string.sub(k, #cp + 1))\n"
    "    end\n"
    "  end\n"
    "  out.phase = (sc[1] == '0') and 'done' or 'scan'\n"
    "  out.cursor = sc[1]\n"
    "  return cjson.encode(out)\n"
    "end\n"
    "if not after(ph) or ph == 'done' then\n"
    "  return cjson.encode({error = 'unknown phase'})\n"
    "end\n"
    "local key = K(ph)\n"
    "local es = redis.call('XRANGE', key, a.cursor, '+', 'COUNT', a.lim)\n"
    "for _, e in ipairs(es) do\n"
    "  local aid = field(e[2], 'alert_id')\n"
    "  local mine\n"
    "  if ph == 'alerts' then mine = field(e[2], 'device_id') == dev\n"
    "  else mine = aid and owner(aid) == dev end\n"
    "  if mine then\n"
    "    if ph == 'deliveries' then\n"
    "      redis.call('XACK', key, 'dispatch', e[1])\n"
    "    end\n"
    "    redis.call('XDEL', key, e[1])\n"
    "    out.entries = out.entries + 1\n"
    "    if ph == 'alerts' and aid then erase(aid) end\n"
    "  end\n"
    "end\n"
    "if #es < a.lim then\n"
    "  out.phase = after(ph)\n"
    "  out.cursor = '-'\n"
    "else\n"
    "  out.phase = ph\n"
    "  out.cursor = '(' .. es[#es][1]\n"
    "end\n"
    "return cjson.encode(out)\n";

/* The last record of an instance's audit chain. */
const char script_audit_load[] =
    LPRELUDE "local last = redis.call('GET', K('audit', 'last', a.inst))\n"
             "if last then return cjson.encode({last = last}) end\n"
             "return cjson.encode({})\n";

/* Records in order; those Redis already has (a batch sent again after
 * its answer was lost) are skipped by their number.  The answer says how
 * many were skipped and whether they were such a resend (the record Redis
 * has last is among them, the same): if not, another relay writes a chain
 * under this instance id (audit.c says so). */
const char script_audit_append[] =
    LPRELUDE "local lk = K('audit', 'last', a.inst)\n"
             "local have = 0\n"
             "local last = redis.call('GET', lk)\n"
             "if last then\n"
             "  local ok, r = pcall(cjson.decode, last)\n"
             "  if ok and type(r) == 'table' and tonumber(r.seq) then\n"
             "    have = tonumber(r.seq)\n"
             "  end\n"
             "end\n"
             "local n, skipped, same = 0, 0, false\n"
             "for i, line in ipairs(a.lines) do\n"
             "  if a.seqs[i] > have then\n"
             "    redis.call('XADD', K('audit', a.inst), '*', 'r', line)\n"
             "    redis.call('SET', lk, line)\n"
             "    n = n + 1\n"
             "  else\n"
             "    skipped = skipped + 1\n"
             /* a batch sent again after a lost answer holds the very
              * record Redis has last; anything else skipped is another
              * writer's chain under this instance id */
             "    if a.seqs[i] == have and line == last then same = true end\n"
             "  end\n"
             "end\n"
             "if type(a.head) == 'string' then\n"
             "  redis.call('SET', K('audit', 'head', a.inst), a.head)\n"
             "end\n"
             "return cjson.encode({added = n, skipped = skipped,"
             "  resent = same})\n";

/* Up to a.count records of instance a.inst from stream id a.after
 * ("-" for the first), no more than a.bytes of them (at least one), and
 * the last record and the last signed head. */
const char script_audit_read[] = LPRELUDE
    "local es = redis.call('XRANGE', K('audit', a.inst), a.after, '+',"
    "  'COUNT', a.count)\n"
    "local recs, ids, bytes = {}, {}, 0\n"
    "for i, e in ipairs(es) do\n"
    "  local r = ''\n"
    "  for j = 1, #e[2], 2 do if e[2][j] == 'r' then r = e[2][j + 1] end"
    "  end\n"
    "  bytes = bytes + #r + 8\n"
    "  if i > 1 and bytes > a.bytes then break end\n"
    "  recs[i] = r\n"
    "  ids[i] = e[1]\n"
    "end\n"
    "local out = {records = recs, ids = ids,"
    "  head = redis.call('GET', K('audit', 'head', a.inst)),"
    "  last = redis.call('GET', K('audit', 'last', a.inst))}\n"
    "if #ids > 0 then out.next = '(' .. ids[#ids] end\n"
    "return cjson.encode(out)\n";
