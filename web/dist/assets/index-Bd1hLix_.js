import{a as e,i as t,r as n,t as r}from"./client-Cy_VPST1.js";var i=class extends String{__apiType;value;__meta__;constructor(e,t){super(e),this.value=e,this.__meta__=t}toString(){return this.value}};new i(`
    mutation AddTokenUsage($sessionId: ID!, $promptTokens: Int!, $completionTokens: Int!) {
  addTokenUsage(
    sessionId: $sessionId
    promptTokens: $promptTokens
    completionTokens: $completionTokens
  ) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `);var a=new i(`
    mutation AppendMessage($sessionId: ID!, $message: MessageInput!) {
  appendMessage(sessionId: $sessionId, message: $message) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `);new i(`
    mutation AppendMessages($sessionId: ID!, $messages: [MessageInput!]!) {
  appendMessages(sessionId: $sessionId, messages: $messages) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `);var o=new i(`
    query ChatPage($id: ID!, $last: Int! = 50, $beforeSequence: Int) {
  session(id: $id) {
    id
    title
    revision
    messageCount
    messages(last: $last, beforeSequence: $beforeSequence) {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
    }
  }
}
    `),s=new i(`
    mutation CreateSession($input: CreateSessionInput) {
  createSession(input: $input) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `);new i(`
    mutation DeleteSession($id: ID!) {
  deleteSession(id: $id)
}
    `),new i(`
    query GetSession($id: ID!) {
  session(id: $id) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
    messages {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
    }
  }
}
    `),new i(`
    query ListSessions($limit: Int! = 50, $offset: Int! = 0) {
  sessionCount
  sessions(limit: $limit, offset: $offset) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `);var c=new i(`
    query SessionMessages($id: ID!, $afterSequence: Int, $beforeSequence: Int, $first: Int, $last: Int) {
  session(id: $id) {
    id
    revision
    messageCount
    messages(
      afterSequence: $afterSequence
      beforeSequence: $beforeSequence
      first: $first
      last: $last
    ) {
      id
      sessionId
      sequence
      role
      content
      name
      toolCallId
      refusal
      toolCalls
      functionCall
      createdAt
      updatedAt
      revision
    }
  }
}
    `),l=new i(`
    subscription ToolMessageUpdated($sessionId: ID!, $afterRevision: Int, $afterSequence: Int) {
  toolMessageUpdated(
    sessionId: $sessionId
    afterRevision: $afterRevision
    afterSequence: $afterSequence
  ) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `);new i(`
    mutation UpdateSession($id: ID!, $input: UpdateSessionInput!) {
  updateSession(id: $id, input: $input) {
    id
    userId
    title
    createdAt
    updatedAt
    credentials
    successfulAgentRuns
    successfulAgentSchedules
    totalPromptTokens
    totalCompletionTokens
    messageCount
    revision
  }
}
    `),new i(`
    mutation UpdateToolResult($sessionId: ID!, $toolCallId: String!, $content: String!) {
  updateToolResult(
    sessionId: $sessionId
    toolCallId: $toolCallId
    content: $content
  ) {
    id
    sessionId
    sequence
    role
    content
    name
    toolCallId
    refusal
    toolCalls
    functionCall
    createdAt
    updatedAt
    revision
  }
}
    `);var u=new Set([4400,4401,4403,4406,4409,4500]),d=15e3,f=5e3,p=1e4;function m(e){return typeof e==`object`&&e&&`code`in e?Number(e.code):void 0}function h(e){if(Array.isArray(e))return e.map(e=>e.message??String(e)).join(`; `);let t=m(e);if(t!==void 0){let n=e.reason;return`connection closed (${t}${n?`: ${n}`:``})`}return e instanceof Error?e.message:String(e)}function g(e){let n=!1,i,a=0,o,s=()=>{if(o=void 0,n||i)return;let s=e.resumeAt();if(!navigator.onLine){e.onStatus(`offline`,`waiting for the network`,s);return}e.onStatus(a?`reconnecting`:`connecting`,``,s);let p,g=r({url:t(),connectionParams:{Authorization:`Bearer ${e.token}`},lazy:!0,retryAttempts:0,keepAlive:d,on:{connected:()=>{a=0,e.onStatus(`live`,``,s),e.onConnected()},ping:e=>{e||(p=setTimeout(()=>g.terminate(),f))},pong:e=>{e&&clearTimeout(p)},closed:()=>clearTimeout(p)}});i=g;let _=()=>{i===g&&(i=void 0),g.dispose()};g.subscribe({query:l.toString(),variables:{sessionId:e.sessionId,afterRevision:s.revision,afterSequence:s.sequence}},{next:t=>{t.data&&e.onMessage(t.data.toolMessageUpdated)},error:t=>{_();let n=m(t);Array.isArray(t)||n!==void 0&&u.has(n)?e.onStatus(`failed`,h(t),s):c(h(t))},complete:()=>{_(),n||e.onStatus(`ended`,`the session was deleted`,s)}})},c=t=>{if(n||o)return;let r=Math.min(500*2**a,p)*(.5+Math.random()/2);a+=1,navigator.onLine?e.onStatus(`reconnecting`,t,e.resumeAt()):e.onStatus(`offline`,`waiting for the network`,e.resumeAt()),o=setTimeout(s,r)},g=()=>i?.terminate(),_=()=>{clearTimeout(o),o=void 0,a=0,s()};return window.addEventListener(`offline`,g),window.addEventListener(`online`,_),s(),()=>{n=!0,clearTimeout(o),window.removeEventListener(`offline`,g),window.removeEventListener(`online`,_),i&&i.dispose()}}function _(e){return e.role===`TOOL`&&(e.content===null||e.content===``||e.content===`pending`)}function v(e,t){let n=e=>e.sequence??1/0;return e.revision>t.revision||e.revision===t.revision&&n(e)>n(t)}var y=class{messages=new Map;seen=new Set;resumeAt={revision:0,sequence:null};received=0;duplicates=0;title=null;addPage(e,t){e.forEach(e=>this.merge(e)),t!==void 0&&this.advance({revision:t,sequence:null})}addEvent(e){let t=`${e.id}@${e.revision}`;return this.received+=1,this.seen.has(t)&&(this.duplicates+=1),this.seen.add(t),this.advance({revision:e.revision,sequence:e.sequence}),this.merge(e)}advance(e){v(e,this.resumeAt)&&(this.resumeAt=e)}merge(e){let t=this.messages.get(e.id);return t&&t.revision>=e.revision?!1:(this.messages.set(e.id,e),!0)}ordered(){return[...this.messages.values()].sort((e,t)=>e.sequence-t.sequence)}lowestSequence(){return this.ordered()[0]?.sequence}highestSequence(){return this.ordered().at(-1)?.sequence??-1}contiguousEnd(){let e=this.ordered(),t=e[0]?.sequence??-1;for(let n of e){if(n.sequence>t+1)break;t=n.sequence}return t}};function b(e,t={},...n){let r=document.createElement(e);for(let[e,n]of Object.entries(t))n!==void 0&&n!==!1&&r.setAttribute(e,n===!0?``:String(n));for(let e of n)e&&r.append(e);return r}function x(e){return Array.isArray(e.toolCalls)?e.toolCalls:[]}function S(e){let t=_(e);return b(`div`,{class:`tool ${t?`pending`:`done`}`,"data-tool-call-id":e.toolCallId??void 0,"data-state":t?`pending`:`done`},b(`span`,{class:`tool-badge`},t?`running…`:`done`),b(`span`,{class:`tool-id`},e.toolCallId??``),b(`div`,{class:`tool-result`},t?`Waiting for the result.`:e.content))}function C(e){let t=x(e);return b(`li`,{class:`message role-${e.role.toLowerCase()}`,"data-id":e.id,"data-sequence":e.sequence,"data-revision":e.revision,"data-role":e.role},b(`div`,{class:`role`},e.role.toLowerCase()),e.role===`TOOL`?S(e):b(`div`,{class:`content`},e.content??e.refusal??``),...t.map(e=>b(`div`,{class:`call`},`calls `,b(`code`,{},`${e.function?.name??`?`}(${e.function?.arguments??``})`),` as ${e.id??`?`}`)))}var w=50;function T(){let e=new URLSearchParams(location.hash.slice(1));return{session:e.get(`session`),token:e.get(`token`)}}function E(e,t){location.hash=new URLSearchParams({session:e,token:t}).toString()}function D(e){return e instanceof n&&e.code?`${e.code}: ${e.message}`:String(e instanceof Error?e.message:e)}function O(t,n,r){let i=b(`input`,{name:`token`,placeholder:`Bearer token (JWT)`,required:!0,autocomplete:`off`,value:n??``}),a=b(`input`,{name:`session`,placeholder:`Session id (empty: create one)`,autocomplete:`off`}),o=b(`p`,{class:`problem`},r),c=b(`form`,{class:`start`},b(`h1`,{},`chatstore`),b(`p`,{},`Paste a token (dev mode prints one at start) and a session id, or leave the id empty to create a session.`),i,a,b(`button`,{type:`submit`},`Open`),o);c.addEventListener(`submit`,t=>{t.preventDefault();let n=i.value.trim(),r=a.value.trim();r?E(r,n):e(s,{input:{title:`New chat`}},n).then(e=>E(e.createSession.id,n)).catch(e=>{o.textContent=D(e)})}),t.replaceChildren(c)}async function k(t,n,r){let i=new y,s=b(`h1`,{},`Loading…`),l=b(`ol`,{class:`messages`}),u=b(`button`,{class:`older`,type:`button`,hidden:!0},`Load earlier messages`),d=b(`p`,{id:`status`,"data-state":`connecting`},`connecting`),f=b(`p`,{class:`problem`}),p=b(`input`,{name:`content`,placeholder:`Message`,autocomplete:`off`}),m=b(`form`,{class:`composer`},p,b(`button`,{type:`submit`},`Send`));t.replaceChildren(b(`header`,{},s,d),u,l,m,f);let h=()=>{s.textContent=i.title??`Untitled chat`,l.replaceChildren(...i.ordered().map(C)),u.hidden=(i.lowestSequence()??0)<=0,d.dataset.received=String(i.received),d.dataset.duplicates=String(i.duplicates)},_=(e,t,n)=>{d.dataset.state=e,d.dataset.afterRevision=String(n.revision),d.dataset.afterSequence=String(n.sequence??``);let r=n.sequence===null?`revision ${n.revision}`:`revision ${n.revision}, message ${n.sequence}`;d.textContent=`${e}${t?` (${t})`:``} · subscribed after ${r}`},v=e=>{f.textContent=D(e)},x=!1,S=!1,T=()=>{x?S=!0:(x=!0,e(c,{id:n,afterSequence:i.contiguousEnd(),first:w},r).then(e=>{let t=e.session?.messages??[];i.addPage(t),S||=t.length===w,h()}).catch(v).finally(()=>{x=!1,S&&(S=!1,T())}))},E;try{E=await e(o,{id:n,last:w},r)}catch(e){O(t,r,D(e));return}E.session?(i.title=E.session.title,i.addPage(E.session.messages,E.session.revision),h(),u.addEventListener(`click`,()=>{e(o,{id:n,last:w,beforeSequence:i.lowestSequence()},r).then(e=>{e.session&&i.addPage(e.session.messages),h()}).catch(v)}),m.addEventListener(`submit`,t=>{t.preventDefault();let o=p.value.trim();o&&e(a,{sessionId:n,message:{role:`USER`,content:o}},r).then(e=>{p.value=``,i.merge(e.appendMessage),h()}).catch(v)}),g({sessionId:n,token:r,resumeAt:()=>i.resumeAt,onMessage:e=>{i.addEvent(e),h(),i.contiguousEnd()<i.highestSequence()&&T()},onStatus:_,onConnected:T})):O(t,r,`No session ${n} for this token.`)}function A(){let e=document.getElementById(`app`),{session:t,token:n}=T();t&&n?k(e,t,n):O(e,n),window.addEventListener(`hashchange`,()=>location.reload())}A();