// WebKitGTK reports the POSIX locale of a process started with LANG=C ("C") as the page's
// language, which is not a language tag: uPlot's number formatter, built when it loads,
// would throw and stop the page. Imported first, so it runs before uPlot is evaluated.

try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(navigator, 'language', { value: 'en-US', configurable: true });
}

export {};
