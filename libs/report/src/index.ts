export {
  REPORT_FORMAT, finite,
  type ReportData, type ReportModel, type ReportReference, type ReportBin, type ReportFeature, type ReportDatasetDrift, type ReportScoreDrift,
  type ReportLabelDrift, type ReportPerformanceWindow, type ReportDetection, type ReportDataQualityRun, type ReportDataQualityCheck,
} from './report-data';
export { loadReportData, performanceWindowMs, binLabel, MAX_PERFORMANCE_WINDOWS, SHORT_PERIOD_WINDOWS, MAX_DETECTIONS, type ReportOptions } from './load';
export { renderReportHtml, reportCharts, escapeHtml, scriptJson, chartJsUmd, fmt, REPORT_SECTIONS, REPORT_CSP, type ChartSpec } from './html';
export { parseReportQuery, parseReportTime, REPORT_FORMATS, type ReportFormat, type ReportQuery } from './query';
