// SPDX-License-Identifier: Apache-2.0
// bench/jfr's workload: many allocation, park and monitor events with varied stacks, so that JFR
// writes a large recording quickly.
import java.util.Random;
import java.util.concurrent.SynchronousQueue;

public class JfrBench {
	private static final Object MONITOR = new Object();
	private static volatile long sink;
	private static final Object[] KEEP = new Object[4096]; // allocations escape: no scalar replacement

	// Recursion of a varying depth: many distinct stack traces.
	static long descend(int depth, Random rnd) {
		if (depth > 0)
			return depth % 3 == 0 ? viaA(depth - 1, rnd) : viaB(depth - 1, rnd);
		byte[] b = new byte[16 + rnd.nextInt(1024)];
		KEEP[rnd.nextInt(KEEP.length)] = b;
		return b.length;
	}

	static long viaA(int depth, Random rnd) {
		return descend(depth, rnd) + 1;
	}

	static long viaB(int depth, Random rnd) {
		return descend(depth, rnd) + 2;
	}

	static void allocate(long end, int seed) {
		Random rnd = new Random(seed);
		while (System.nanoTime() < end)
			for (int i = 0; i < 1000; i++)
				sink += descend(rnd.nextInt(24), rnd);
	}

	static void pingPong(SynchronousQueue<Integer> in, SynchronousQueue<Integer> out, long end,
			     boolean first) throws InterruptedException {
		if (first)
			out.put(0);
		while (System.nanoTime() < end) {
			Integer v = in.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
			if (v == null)
				return;
			out.offer(v + 1, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
		}
	}

	static void contend(long end) {
		while (System.nanoTime() < end)
			synchronized (MONITOR) {
				sink++;
				Thread.onSpinWait();
			}
	}

	public static void main(String[] args) throws Exception {
		long seconds = args.length > 0 ? Long.parseLong(args[0]) : 30;
		long end = System.nanoTime() + seconds * 1_000_000_000L;
		Thread[] threads = new Thread[8];
		for (int i = 0; i < 2; i++) {
			int seed = i;
			threads[i] = new Thread(() -> allocate(end, seed), "alloc-" + i);
		}
		SynchronousQueue<Integer> a = new SynchronousQueue<>(), b = new SynchronousQueue<>();
		threads[2] = new Thread(() -> {
			try {
				pingPong(a, b, end, true);
			} catch (InterruptedException e) {
				return;
			}
		}, "ping");
		threads[3] = new Thread(() -> {
			try {
				pingPong(b, a, end, false);
			} catch (InterruptedException e) {
				return;
			}
		}, "pong");
		for (int i = 4; i < 8; i++)
			threads[i] = new Thread(() -> contend(end), "contend-" + i);
		for (Thread t : threads)
			t.start();
		for (Thread t : threads)
			t.join();
		System.out.println("done " + sink);
	}
}
