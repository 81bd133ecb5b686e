// SPDX-License-Identifier: Apache-2.0
// A JVM workload with known hot methods, several threads, allocations and a contended lock.
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

public class Workload {
	private static final Object LOCK = new Object();
	private static final ReentrantLock PARK_LOCK = new ReentrantLock();
	private static volatile long sink;

	// Hot CPU method 1: integer arithmetic in a tight loop.
	static long spinPrimes(int limit) {
		long found = 0;
		for (int n = 2; n < limit; n++) {
			boolean prime = true;
			for (int d = 2; d * d <= n; d++) {
				if (n % d == 0) {
					prime = false;
					break;
				}
			}
			if (prime)
				found += n;
		}
		return found;
	}

	// Hot CPU method 2: floating point.
	static double spinTrig(int rounds) {
		double acc = 0;
		for (int i = 0; i < rounds; i++)
			acc += Math.sin(i) * Math.cos(i * 0.5);
		return acc;
	}

	// Allocation-heavy method: many short-lived arrays and some big ones.
	static long allocate(int rounds) {
		long total = 0;
		List<byte[]> keep = new ArrayList<>();
		for (int i = 0; i < rounds; i++) {
			byte[] b = new byte[(i % 64 == 0) ? 256 * 1024 : 1024];
			total += b.length;
			keep.add(b);
			if (keep.size() > 64)
				keep.clear();
		}
		return total;
	}

	// Contended lock: threads hold LOCK while working, so others block on it.
	static void contend(int rounds) {
		for (int i = 0; i < rounds; i++) {
			synchronized (LOCK) {
				sink += spinPrimes(20000);
			}
		}
	}

	// Parked waiters: one thread holds PARK_LOCK while sleeping, the others park on it.
	static void park(int rounds) throws InterruptedException {
		for (int i = 0; i < rounds; i++) {
			PARK_LOCK.lock();
			try {
				Thread.sleep(15);
			} finally {
				PARK_LOCK.unlock();
			}
		}
	}

	// A thread in native code (accept), seen by jdk.NativeMethodSample.
	static void waitNative(long end) throws Exception {
		try (ServerSocket server = new ServerSocket(0)) {
			server.setSoTimeout(200);
			while (System.nanoTime() < end) {
				try {
					server.accept().close();
				} catch (SocketTimeoutException e) {
					// expected: nobody connects
				}
			}
		}
	}

	public static void main(String[] args) throws Exception {
		long seconds = args.length > 0 ? Long.parseLong(args[0]) : 5;
		long end = System.nanoTime() + seconds * 1_000_000_000L;
		List<Thread> threads = new ArrayList<>();
		threads.add(new Thread(() -> {
			while (System.nanoTime() < end)
				sink += spinPrimes(200000);
		}, "primes"));
		threads.add(new Thread(() -> {
			while (System.nanoTime() < end)
				sink += (long)spinTrig(500000);
		}, "trig"));
		threads.add(new Thread(() -> {
			while (System.nanoTime() < end)
				sink += allocate(20000);
		}, "alloc"));
		for (int t = 0; t < 3; t++)
			threads.add(new Thread(() -> {
				while (System.nanoTime() < end) {
					contend(5);
					try {
						Thread.sleep(1);
					} catch (InterruptedException e) {
						return;
					}
				}
			}, "locker-" + t));
		for (int t = 0; t < 2; t++)
			threads.add(new Thread(() -> {
				try {
					while (System.nanoTime() < end)
						park(2);
				} catch (InterruptedException e) {
					return;
				}
			}, "parker-" + t));
		threads.add(new Thread(() -> {
			try {
				waitNative(end);
			} catch (Exception e) {
				throw new RuntimeException(e);
			}
		}, "native"));
		for (Thread t : threads)
			t.start();
		for (Thread t : threads)
			t.join();
		System.out.println("done " + sink);
	}
}
