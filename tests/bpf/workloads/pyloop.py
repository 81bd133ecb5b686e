# SPDX-License-Identifier: Apache-2.0
"""CPU-bound pure Python for SECONDS seconds: recursion, an arithmetic loop and string sorting."""
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def loop_sum(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


def build_words(n):
    return sorted(str(i * 7919 % 10007) for i in range(n))


def main(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        fib(20)
        loop_sum(100000)
        build_words(20000)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
