// The Node Socket.IO reference for the fanout benchmark: socket.io 4.8, the same
// handshake shape (auth.token required), every socket in one room, `create_message`
// rebroadcast to the room as `response_message`. No persistence. PORT env, default 3200.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT || 3200);
const http = createServer();
const io = new Server(http, { transports: ['websocket', 'polling'] });
let seq = 0;

io.use((socket, next) => (socket.handshake.auth && socket.handshake.auth.token ? next() : next(new Error('unauthorized'))));
io.on('connection', (socket) => {
  socket.join('room');
  socket.on('create_message', (data, ack) => {
    seq += 1;
    const msg = { seq, message: data && data.message, chat_id: data && data.chat_id };
    io.to('room').emit('response_message', msg);
    if (typeof ack === 'function') ack({ status: 'ok', data: msg });
  });
});
http.listen(port, '127.0.0.1', () => console.error(`reference listening on 127.0.0.1:${port}`));
