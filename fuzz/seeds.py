#!/usr/bin/env python3
"""seeds.py - writes the hand-made seeds of fuzz/corpus/.

Each seed is a miniport scenario spelled in the fuzzer's input language
(fuzz/program.c decodes it): the fuzzer starts from these and mutates them.
The rest of fuzz/corpus/ is what libFuzzer found and `-merge=1` kept.
Run it from the repository root after changing program.c's encoding:

    python3 fuzz/seeds.py
"""
import os

# program.c's table of operations by byte, in order.
OPS = ("CREATE CREATE REMOVE INIT INIT INIT REQUEST REQUEST REQUEST REQUEST REQUEST "
       "REQUEST FREE FREE LEGACY LEGACY OTHER ADVANCE ADVANCE ADVANCE ADVANCE ADVANCE "
       "RAISE RAISE POP POP ACQUIRE ACQUIRE BIND STALL STATS RECREATE LOWER_TOO_HIGH "
       "RELEASE_FORGED INIT_DPC INIT_DPC ISSUE_DPC ISSUE_DPC ISSUE_DPC SYNC PAUSE PAUSE "
       "PAUSE_STATE QUERY_TIME SET_CLOCK_TIME NEXT_FIRE").split()
ACTIONS = ("NONE REARM_SELF CANCEL_SELF FREE_SELF ARM CANCEL FREE INITIALIZE LEGACY STALL "
           "ADVANCE REMOVE ARM_ABOVE_DISPATCH LOCK_PAIR STATS INITIALIZE_DPC ISSUE_DPC SYNCHRONIZE "
           "PAUSE PAUSE_STATE QUERY_TIME").split()


def op(name):
    return bytes([OPS.index(name)])


def ext(slot):
    return bytes([1 | slot << 4])


def handle(ref):
    return bytes([1 | ref << 3])


def value(us):
    """A value of the class that holds it exactly."""
    if us == 0:
        return bytes([0])
    if us < 256:
        return bytes([2, us])
    if us < 65536:
        return bytes([3, us & 255, us >> 8])
    if us % 100 == 0 and us // 100 < 65536:
        return bytes([4, (us // 100) & 255, (us // 100) >> 8])
    return bytes([8]) + us.to_bytes(8, "little")


def behaviour(*actions):
    return bytes([len(actions)]) + b"".join(actions)


def nothing():
    return behaviour()


def act(name, *params):
    return bytes([ACTIONS.index(name)]) + b"".join(params)


def create(slot, clock=0, half_duplex=0, max_timers=0):
    code = 0 if max_timers == 0 else max_timers + 4
    return op("CREATE") + bytes([slot | clock << 2 | half_duplex << 3 | code << 4, 16])


def init(ref, slot):
    return op("INIT") + bytes([ref]) + ext(slot) + bytes([1])


def request(slot, ref, us, window=0, then=None, callback=1):
    return (op("REQUEST") + ext(slot) + handle(ref) + value(us) + value(window) +
            bytes([callback]) + (then if then is not None else nothing()))


def advance(us, clock=0):
    return op("ADVANCE") + bytes([clock]) + value(us)


def raise_irql(level):
    return op("RAISE") + bytes([level])


def acquire(slot, kind=0):
    return op("ACQUIRE") + ext(slot) + bytes([kind, 1])


def dpc(slot):
    return bytes([1 | slot << 4])


def timeout(seconds):
    if seconds == 0:
        return bytes([0])
    if seconds == 1:
        return bytes([1])
    if seconds == 2**32 - 1:
        return bytes([3])
    if seconds < 256:
        return bytes([4, seconds])
    return bytes([5]) + seconds.to_bytes(4, "little")


# S13-S16 calls; the same bytes follow an action code inside a behaviour.
def init_dpc_args(slot, ref, routine=1, raised=False):
    return ext(slot) + dpc(ref) + bytes([routine | (4 if raised else 0)])


def issue_args(slot, ref, then=None, notification=False, raised=False, argument=7):
    sel = (1 if notification else 0) | (2 if raised else 0) | (4 if notification else 0)
    return ext(slot) + dpc(ref) + bytes([sel, argument]) + (then if then is not None else nothing())


def sync_args(slot, then=None, routine=1):
    return ext(slot) + bytes([routine]) + (then if then is not None else nothing())


PAUSE, RESUME, PAUSE_DEVICE, RESUME_DEVICE = range(4)


def pause_args(slot, which, seconds=0, unit=0, raised=False):
    return ext(slot) + bytes([which | (4 if raised else 0)]) + timeout(seconds) + bytes([unit])


def state_args(slot, unit=None):
    return ext(slot) + bytes([0 if unit is None else 1, unit or 0])


def time_args(slot):
    return ext(slot) + bytes([5])


def init_dpc(*a, **k):
    return op("INIT_DPC") + init_dpc_args(*a, **k)


def issue(*a, **k):
    return op("ISSUE_DPC") + issue_args(*a, **k)


def sync(*a, **k):
    return op("SYNC") + sync_args(*a, **k)


def pause(*a, **k):
    return op("PAUSE") + pause_args(*a, **k)


def state(*a, **k):
    return op("PAUSE_STATE") + state_args(*a, **k)


def query_time(slot):
    return op("QUERY_TIME") + time_args(slot)


def set_tick(clock, tick):
    return op("SET_CLOCK_TIME") + bytes([clock, 1, 4]) + tick.to_bytes(4, "little")


def next_fire(clock=0):
    return op("NEXT_FIRE") + bytes([clock])


def stats(slot):
    return op("STATS") + ext(slot)


SEEDS = {
    # A 10 ms poll that re-arms itself from its callback (S5.6, S11.3).
    "periodic-poll": create(0) + init(0, 0) +
        request(0, 0, 10000, then=behaviour(act("REARM_SELF", value(10000), value(0),
                                                bytes([1])))) + advance(100000),
    # BUSY while pending, then a cancel, then a new arm (S5.3, S5.5).
    "busy-cancel-rearm": create(0) + init(0, 0) + request(0, 0, 500) + request(0, 0, 700) +
        request(0, 0, 0) + request(0, 0, 900) + advance(1000),
    # Equal due times fire in arm order, across two adapters (S8.4).
    "ties-in-arm-order": create(0) + create(1) + init(0, 0) + init(1, 1) + init(2, 0) +
        request(1, 1, 1000) + request(0, 2, 1000) + request(0, 0, 1000) + advance(1000),
    # A watchdog frees its own timer in its callback, then re-arming it fails (S6.4.1).
    "free-self": create(0) + init(0, 0) +
        request(0, 0, 1000000, then=behaviour(act("FREE_SELF"),
                                              act("REARM_SELF", value(5), value(0),
                                                  bytes([1])))) + advance(2000000),
    # Arms from an interrupt path fill the hand-over queue (S5.7).
    # (an arm takes a cell even when answered BUSY; a cancel takes none).
    "handover-full": create(0) + init(0, 0) + init(1, 0) + raise_irql(5) +
        request(0, 0, 100) * 256 + request(0, 0, 0) + request(0, 0, 100) +
        request(0, 1, 100) + op("POP") + advance(200) + raise_irql(5) +
        request(0, 1, 100) + op("POP") + advance(200),
    # Holding the StartIo lock holds callbacks back; a free then drops one (S8.1, S6.4.1).
    "startio-held": create(0) + init(0, 0) + init(1, 0) + request(0, 0, 100) +
        request(0, 1, 100) + acquire(0) + advance(500) + op("FREE") + ext(0) + handle(0) +
        op("POP") + advance(0),
    # 257 arms above DISPATCH_LEVEL, each cancelled: the 257th finds no cell.
    "handover-capacity": create(0) + init(0, 0) + raise_irql(5) +
        (request(0, 0, 1) + request(0, 0, 0)) * 257 + op("POP") + advance(10),
    # A stall in a callback moves the clock; callbacks due meanwhile run late (S9.3).
    "stall-in-callback": create(0) + init(0, 0) + init(1, 0) +
        request(0, 0, 100, then=behaviour(act("STALL", bytes([0]), value(5000)))) +
        request(0, 1, 200) + advance(300),
    # Huge values saturate instead of wrapping (S5.4.3).
    "saturation": create(0) + init(0, 0) + init(1, 0) + request(0, 0, 2**64 - 1) +
        request(0, 1, 2**64 - 5, window=2**64 - 1) + advance(2**64 - 1),
    # A callback removes another adapter, and cannot remove its own (S3.4, S8.2).
    "remove-from-callback": create(0) + create(1) + init(0, 0) + init(1, 1) +
        request(1, 1, 50) +
        request(0, 0, 10, then=behaviour(act("REMOVE", ext(1)), act("REMOVE", ext(0)))) +
        advance(100),
    # The legacy timer replaces, cancels and re-arms itself (S7.1, S7.2).
    "legacy": create(0) + op("LEGACY") + ext(0) + bytes([1]) + value(300) +
        behaviour(act("REARM_SELF", value(300), value(0), bytes([1]))) +
        op("LEGACY") + ext(0) + bytes([2]) + value(100) + nothing() + advance(1000) +
        op("LEGACY") + ext(0) + bytes([1]) + value(0) + nothing() + advance(1000),
    # max_timers 1: the second initialize is refused until the first is freed (S3.3, S4.3).
    "max-timers": create(0, max_timers=1) + init(0, 0) + init(1, 0) + op("FREE") + ext(0) +
        handle(0) + init(1, 0) + op("FREE") + ext(0) + handle(0),
    # A DPC issued from the host runs at the next advance, by 0 included; a
    # second issue while queued answers FALSE (S14.4, S14.10, S17.5).
    "dpc-host-issue": create(0) + init_dpc(0, 0) + issue(0, 0) + issue(0, 0, argument=9) +
        next_fire() + advance(0) + issue(0, 0, notification=True) + advance(50) + stats(0),
    # S14.8: a DPC issued by the first of two callbacks due at 100 runs after
    # the second (its sequence is taken at the issue), before anything later.
    "dpc-order": create(0) + init_dpc(0, 0) + init(0, 0) + init(1, 0) + init(2, 0) +
        request(0, 0, 100, then=behaviour(act("ISSUE_DPC", issue_args(0, 0)),
                                          act("QUERY_TIME", time_args(0)))) +
        request(0, 1, 100) + request(0, 2, 101) + advance(200),
    # Issues from device IRQL are handed over (S14.5); a DPC routine re-issues
    # itself and runs again after it returns (S14.6); DPC routines run
    # without the StartIo lock the advancing thread holds (S14.9).
    "dpc-device-irql": create(0) + init_dpc(0, 0) + init_dpc(0, 1, routine=2) + init(0, 0) +
        raise_irql(5) + issue(0, 0, then=behaviour(act("ISSUE_DPC", issue_args(0, 0)),
                                                   act("QUERY_TIME", time_args(0)))) +
        op("POP") + request(0, 0, 10, then=behaviour(
            act("ISSUE_DPC", issue_args(0, 1, raised=True)),
            act("INITIALIZE_DPC", init_dpc_args(0, 1)))) +
        acquire(0) + advance(100) + op("POP") + advance(0),
    # Removal drops queued DPCs and forgets the STOR_DPCs; a DPC routine
    # cannot remove its own adapter (S14.13); a DPC of a live adapter cannot
    # be initialized for another (S14.3).
    "dpc-removal": create(0) + create(1) + init_dpc(0, 0) + init_dpc(1, 0) + init_dpc(1, 1) +
        issue(1, 1, then=behaviour(act("REMOVE", ext(1)), act("REMOVE", ext(0)))) +
        issue(0, 0) + advance(5) + init_dpc(1, 0) + issue(1, 0) + stats(1),
    # StorPortSynchronizeAccess runs at device IRQL under the InterruptLock;
    # its routine arms (handed over) and issues; from a half-duplex callback
    # it is misuse, run under the lock held (S15.1, S15.3).
    "synchronize": create(0) + create(1, half_duplex=1) + init_dpc(0, 0) + init(0, 0) +
        init(1, 1) + sync(0, then=behaviour(act("ARM", ext(0), handle(0), value(30), value(0),
                                                 nothing()),
                                             act("ISSUE_DPC", issue_args(0, 0)))) +
        request(1, 1, 40, then=behaviour(act("SYNCHRONIZE", sync_args(1, routine=2)),
                                         act("SYNCHRONIZE", sync_args(0)))) +
        sync(1, routine=2) + advance(100),
    # Pauses: deadlines, expiry in order, Resume ending it, units apart from
    # the adapter, a Timeout of 0, a pause from device IRQL followed by a
    # Resume at PASSIVE_LEVEL (S16.3-S16.9).
    "pauses": create(0) + init(0, 0) + pause(0, PAUSE, 1) + state(0) +
        request(0, 0, 1000000, then=behaviour(act("PAUSE_STATE", state_args(0)),
                                               act("PAUSE", pause_args(0, PAUSE, 2)))) +
        advance(999999) + state(0) + advance(1) + state(0) + advance(2000000) + state(0) +
        pause(0, PAUSE_DEVICE, 3, unit=4) + pause(0, PAUSE_DEVICE, 0, unit=5) +
        pause(0, PAUSE, 2**32 - 1) + state(0, 4) + advance(0) + state(0, 5) +
        pause(0, RESUME) + pause(0, RESUME) + pause(0, RESUME_DEVICE, unit=4) +
        pause(0, RESUME_DEVICE, unit=9) + state(0, 4) +
        pause(0, PAUSE, 5, raised=True) + pause(0, RESUME) + state(0) + stats(0),
    # Twelve units paused and resumed (the unit table grows, S16.6).
    "unit-pauses": create(0) + b"".join(pause(0, PAUSE_DEVICE, 1 + u, unit=u) for u in range(12)) +
        b"".join(state(0, u) for u in range(12)) + advance(6000000) +
        b"".join(pause(0, RESUME_DEVICE, unit=u) for u in range(12)) + stats(0),
    # S16.11: a unit pause counts in the unit counters only; the adapter's
    # pause counters stay at 0 (stortimer.h: "StorPortPause that took effect").
    "unit-pause-counters": create(0) + pause(0, PAUSE_DEVICE, 1, unit=2) +
        pause(0, RESUME_DEVICE, unit=2) + pause(0, RESUME_DEVICE, unit=2) + stats(0),
    # The views of S13.2 on a tick of 15,625 us: in a callback, in a DPC
    # routine, on the host; the tick cannot change after an advance (S17.4).
    "time-views": set_tick(0, 15625) + create(0) + init_dpc(0, 0) + init(0, 0) +
        request(0, 0, 31250, then=behaviour(act("QUERY_TIME", time_args(0)),
                                            act("ISSUE_DPC", issue_args(0, 0, then=behaviour(
                                                act("QUERY_TIME", time_args(0))))))) +
        query_time(0) + advance(40000) + query_time(0) + set_tick(0, 1000) +
        op("BIND") + bytes([0]) + query_time(0) + op("STALL") + value(5000) + query_time(0),
}

if __name__ == "__main__":
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(folder, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(folder, "seed-" + name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds written to {folder}")
