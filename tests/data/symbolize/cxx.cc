// SPDX-License-Identifier: Apache-2.0
// A C++ test program for demangling.
#include <cstdio>

namespace ns {
struct Klass {
	int k;
	__attribute__((noinline)) int method(int x);
};

int Klass::method(int x)
{
	return k * x + 1;
}
} // namespace ns

int main(int argc, char **)
{
	ns::Klass o{argc};

	std::printf("%d\n", o.method(argc));
	return 0;
}
