/**
 * Imported before a program's entry: its clock runs CLOCK_AHEAD_MS ahead of the machine's, so
 * files a test has just written are already past the data set's settle window.
 */
const aheadMs = Number(process.env.CLOCK_AHEAD_MS ?? 0);
const machineNow = Date.now;
Date.now = () => machineNow() + aheadMs;
