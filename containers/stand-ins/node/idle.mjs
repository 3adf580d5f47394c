// Prometheus' and Grafana's stand-in: stays up until stopped (PID 1 gets no default SIGTERM handler).
setInterval(() => {}, 2 ** 30);
process.on('SIGTERM', () => process.exit(0));
