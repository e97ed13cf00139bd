export { FeedbackService, encodeDeliverable, type FeedbackDelivery, type FeedbackServiceOptions } from './feedback.js';
