"""Lua scripts: every write that must be atomic is one script, so a crash, a lost connection or
a concurrent writer in another process never leaves half a change behind.

Key layout (``P`` is the key prefix, ``T`` the thread id, ``A`` the agent, both escaped so that
``:`` cannot make two different pairs collide):

* ``P thread:T:A`` hash ``d`` (record JSON) + ``v`` (version): one agent's record of a thread;
* ``P agents:T`` set of escaped agent names with a record (to delete a whole thread);
* ``P history:T`` list of ``[seq, run_id, event]`` or ``[seq, run_id, event, agent]`` JSON
  entries, ``seq`` = position + 1;
* ``P lock:T`` the run id holding the thread, with a millisecond expiry;
* ``P lockby:T`` ``<instance id>|<lease token>`` of the lease behind ``lock:T`` (same expiry;
  absent for locks taken by a release that did not keep it);
* ``P instance:I`` present while store instance ``I`` is alive: it refreshes it (heartbeat)
  with a short expiry (``instance_ttl_seconds``), so a lock whose instance stopped heartbeating
  (killed) is free long before the lock's own expiry;
* ``P stop:T`` the run id asked to stop (the flag behind the pub/sub notification);
* channel ``P stop-requests``: ``{"t": thread, "r": run}`` per stop request;
* ``P live:T`` hash ``r`` (run id), ``k`` (its stream's key), ``n`` (batches so far), ``a``
  (its agent): the run
  relayed live on the thread;
* ``P info:T`` hash: ``o`` owner, ``a`` agent, ``n`` name (absent: none), ``x`` archived
  (``0``/``1``), ``c``/``u`` created/updated (seconds, as text), ``k`` the thread's listing
  key, ``ko``/``ka`` the two listing sets it is in;
* ``P owned:O`` and ``P owned:O:A`` sorted sets (all scores 0, ordered by member): the
  listing keys ``<created, zero-padded>|T`` of owner ``O``'s threads (of agent ``A``'s);
* ``P live:T:R:N`` stream of run ``R``'s batches (``N`` a nonce per run start): ``n`` (0, 1, ...), ``e`` (JSON array of
  events), ``f`` on the final one.
"""

from __future__ import annotations

# KEYS: record, agents index. ARGV: expected version ('' = any), record JSON, ttl ms (0 = none),
# escaped agent name.
SAVE_THREAD = """
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= current then
  return {0, current}
end
local version = current + 1
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'v', version)
local ttl = tonumber(ARGV[3])
local indexed = redis.call('EXISTS', KEYS[2])
redis.call('SADD', KEYS[2], ARGV[4])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  -- the index lives as long as its longest-lived record (-1: one never expires)
  local left = indexed == 1 and redis.call('PTTL', KEYS[2]) or -2
  if left ~= -1 and left < ttl then
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
else
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
end
return {1, version}
"""

# KEYS: record, agents index. ARGV: escaped agent name.
DELETE_RECORD = """
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: agents index, history, info. ARGV: record key prefix of the thread ("P thread:T:").
DELETE_THREAD = """
local agents = redis.call('SMEMBERS', KEYS[1])
for _, agent in ipairs(agents) do
  redis.call('DEL', ARGV[1] .. agent)
end
local listing = redis.call('HMGET', KEYS[3], 'k', 'ko', 'ka')
if listing[1] then
  redis.call('ZREM', listing[2], listing[1])
  redis.call('ZREM', listing[3], listing[1])
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return #agents
"""

# KEYS: info, owner's listing, owner's listing of the agent. ARGV: owner, agent, name ('' =
# none), created, updated, listing key. Returns the stored info as HGETALL's flat list.
CLAIM_THREAD = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'o', ARGV[1], 'a', ARGV[2], 'x', '0', 'c', ARGV[4], 'u', ARGV[5],
             'k', ARGV[6], 'ko', KEYS[2], 'ka', KEYS[3])
  if ARGV[3] ~= '' then
    redis.call('HSET', KEYS[1], 'n', ARGV[3])
  end
  redis.call('ZADD', KEYS[2], 0, ARGV[6])
  redis.call('ZADD', KEYS[3], 0, ARGV[6])
end
return redis.call('HGETALL', KEYS[1])
"""

# KEYS: info. ARGV: name, archived ('0'/'1'), updated; '' = unchanged. Returns HGETALL (empty
# when there is no such thread: nothing is created).
UPDATE_THREAD_INFO = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'n', ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'x', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'u', ARGV[3]) end
return redis.call('HGETALL', KEYS[1])
"""

# KEYS: history. ARGV: ttl ms (0 = keep), then one '"run_id",{event}[,"agent"]' fragment per event.
APPEND_EVENTS = """
local seq = redis.call('LLEN', KEYS[1])
local batch = {}
for i = 2, #ARGV do
  seq = seq + 1
  batch[#batch + 1] = '[' .. seq .. ',' .. ARGV[i] .. ']'
  if #batch == 500 then
    redis.call('RPUSH', KEYS[1], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then
  redis.call('RPUSH', KEYS[1], unpack(batch))
end
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return seq
"""

# Whether the lease behind a lock is alive: its instance still heartbeats. A lock without a
# lease record (an older release's) counts as alive until it expires.
# (defined inline in each script: Lua scripts cannot share functions)
_HOLDER_ALIVE = """
local function holder_alive(owner_key, instance_prefix)
  local owner = redis.call('GET', owner_key)
  if not owner then
    return true
  end
  local instance = string.match(owner, '^([^|]*)|')
  return instance ~= nil and redis.call('EXISTS', instance_prefix .. instance) == 1
end
"""

# KEYS: lock, stop flag, lease record. ARGV: run id, ttl ms, lease ("<instance>|<token>"),
# instance key prefix. 1 = taken, 0 = a live lease holds the thread.
ACQUIRE_LOCK = _HOLDER_ALIVE + """
local holder = redis.call('GET', KEYS[1])
if holder then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    if holder_alive(KEYS[3], ARGV[4]) then
      return 0
    end
    -- its instance stopped heartbeating (killed): the lease is dead, the thread free
  elseif holder ~= ARGV[1] then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
"""

# Compare-and-extend. KEYS: lock, stop flag, lease record. ARGV: run id, ttl ms, lease.
RENEW_LOCK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[3]) ~= ARGV[3] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
"""

# Compare-and-delete. KEYS: lock, stop flag, lease record. ARGV: run id, lease.
RELEASE_LOCK = """
local released = 0
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('GET', KEYS[3]) == ARGV[2] then
  redis.call('DEL', KEYS[1], KEYS[3])
  released = 1
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return released
"""

# KEYS: lock, lease record. ARGV: run id, instance key prefix. 1 while run ``run id`` holds
# the thread under a live lease.
LOCK_ALIVE = _HOLDER_ALIVE + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if holder_alive(KEYS[2], ARGV[2]) then
  return 1
end
return 0
"""

# KEYS: lock, stop flag, lease record. ARGV: run id ('' = whichever holds it), channel,
# thread id, instance key prefix.
# Returns the holder's run id, or false when no (matching) live run holds the thread (a dead
# instance's lock is not a run: it is freed here).
REQUEST_STOP = _HOLDER_ALIVE + """
local holder = redis.call('GET', KEYS[1])
if not holder then
  return false
end
if not holder_alive(KEYS[3], ARGV[4]) then
  redis.call('DEL', KEYS[1], KEYS[3], KEYS[2])
  return false
end
if ARGV[1] ~= '' and holder ~= ARGV[1] then
  return false
end
local left = redis.call('PTTL', KEYS[1])
if left < 60000 then
  left = 60000
end
redis.call('SET', KEYS[2], holder, 'PX', left)
redis.call('PUBLISH', ARGV[2], cjson.encode({t = ARGV[3], r = holder}))
return holder
"""

# KEYS: live pointer, lock, the run's stream. ARGV: run id, events JSON, final ('1'/'0'),
# max stream length, ttl ms while live, ttl ms after the final batch, first ('1': the run's
# first batch, a new run even if the thread's live run had the same id), the run's agent ('':
# not named).
# Returns the batch number, or -1 when the run is not the thread's (it lost its lock to a newer
# run, whose relay it must not disturb).
PUBLISH_LIVE = """
local current = redis.call('HGET', KEYS[1], 'r')
if current ~= ARGV[1] or ARGV[7] == '1' then
  if redis.call('GET', KEYS[2]) ~= ARGV[1] then
    return -1
  end
  -- a new run on the thread: its own stream; the previous one's lingers a little at most
  local previous = redis.call('HGET', KEYS[1], 'k')
  if previous then
    local left = redis.call('PTTL', previous)
    if left < 0 or left > tonumber(ARGV[6]) then
      redis.call('PEXPIRE', previous, ARGV[6])
    end
  end
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'r', ARGV[1], 'k', KEYS[3], 'n', 0)
  if ARGV[8] and ARGV[8] ~= '' then
    redis.call('HSET', KEYS[1], 'a', ARGV[8])
  end
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1) - 1
if ARGV[3] == '1' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'n', n, 'e', ARGV[2], 'f', '1')
else
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'n', n, 'e', ARGV[2])
end
local ttl = ARGV[3] == '1' and ARGV[6] or ARGV[5]
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
return n
"""
