export { type Forward, hasBody, HttpForwarder, type ResponseHeaders } from './http-forwarder.js';
