export { FeedbackClient, readFeedback, type FeedbackClientOptions, type FeedbackEntry } from './client.js';
