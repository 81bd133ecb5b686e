// SPDX-License-Identifier: Apache-2.0
// Writes events with async-profiler's names and fields (profiler.WallClockSample, profiler.Malloc,
// profiler.Free, profiler.LiveObject) through the JDK's own JFR, so the jfr receiver's mapping of them can be checked
// against `jfr print` without async-profiler.
import jdk.jfr.Event;
import jdk.jfr.Name;

public class ProfilerEvents {
	@Name("profiler.WallClockSample")
	static class WallClockSample extends Event {
		Thread sampledThread;
		String state;
		long samples; // one event stands for this many samples of an idle thread
	}

	@Name("profiler.Malloc")
	static class Malloc extends Event {
		long address;
		long size;
	}

	@Name("profiler.Free")
	static class Free extends Event {
		long address;
	}

	@Name("profiler.LiveObject")
	static class LiveObject extends Event {
		Class<?> objectClass;
		long allocationSize;
		long allocationTime;
	}

	static void live(int i) {
		LiveObject e = new LiveObject();
		e.objectClass = i % 2 == 0 ? byte[].class : String.class;
		e.allocationSize = 512L * (1 + i % 5);
		e.allocationTime = System.nanoTime();
		e.commit();
	}

	static void wallSample(int i) {
		WallClockSample e = new WallClockSample();
		e.sampledThread = Thread.currentThread();
		e.state = i % 3 == 0 ? "STATE_RUNNABLE" : "STATE_SLEEPING";
		e.samples = 1 + i % 7;
		e.commit();
	}

	static void idle(int i) {
		wallSample(i);
	}

	static void malloc(long address, long size) {
		Malloc e = new Malloc();
		e.address = address;
		e.size = size;
		e.commit();
	}

	static void free(long address) {
		Free e = new Free();
		e.address = address;
		e.commit();
	}

	static void work(int thread, int n) {
		for (int i = 0; i < n; i++) {
			if (i % 2 == 0)
				wallSample(i);
			else
				idle(i);
			long address = 0x10000L * (thread + 1) + 16L * i;
			malloc(address, 24 + 8L * (i % 13));
			if (i % 3 == 0)
				free(address);
			if (i % 4 == 0)
				live(i);
		}
	}

	public static void main(String[] args) throws InterruptedException {
		int n = args.length > 0 ? Integer.parseInt(args[0]) : 300;
		Thread[] threads = new Thread[3];
		for (int t = 0; t < threads.length; t++) {
			final int id = t;
			threads[t] = new Thread(() -> work(id, n + id), "ap-worker-" + t);
			threads[t].start();
		}
		for (Thread t : threads)
			t.join();
	}
}
