export { FeedbackService, type FeedbackDelivery, type FeedbackServiceOptions } from './feedback.js';
