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
       "RELEASE_FORGED").split()
ACTIONS = ("NONE REARM_SELF CANCEL_SELF FREE_SELF ARM CANCEL FREE INITIALIZE LEGACY STALL "
           "ADVANCE REMOVE ARM_ABOVE_DISPATCH LOCK_PAIR STATS").split()


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
}

if __name__ == "__main__":
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(folder, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(folder, "seed-" + name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds written to {folder}")
