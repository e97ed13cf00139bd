export { renderHtmlReport, type HtmlReportOptions } from './html.js';
export { renderJunitReport, junitXml, writeExpectJunit, type ExpectCheck, type JunitCase, type JunitSuite } from './junit.js';
export { escapeHtml, escapeXml, showHtml } from './text.js';
