// SPDX-License-Identifier: Apache-2.0
// Two hot JavaScript functions of known names, for the perf-map test.
'use strict';
function pfHotAlpha(n) {
	let s = 0;
	for (let i = 0; i < n; i++) s = (s + i * i) % 1000003;
	return s;
}
function pfHotBeta(n) {
	let s = 1;
	for (let i = 0; i < n; i++) s = (s * 31 + i) % 1000033;
	return s;
}
const end = Date.now() + 1000 * Number(process.argv[2] || 3);
let acc = 0;
while (Date.now() < end) acc += pfHotAlpha(200000) + pfHotBeta(100000);
console.log(acc);
