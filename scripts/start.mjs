// `npm start` will run a whole demo backup on the embedded local stack once the local-runtime issue
// lands. Until then it says so plainly and exits non-zero rather than pretending to do something.
console.error('cbr-flow: the local runtime is not built yet (see the open "npm start" issue).');
process.exit(1);
