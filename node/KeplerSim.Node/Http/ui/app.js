var Z,$,Te,mt,D,we,Pe,Ee,ae,G,O,Me,_e,le,ce,$t,Q={},X=[],gt=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,ee=Array.isArray;function E(e,t){for(var n in t)e[n]=t[n];return e}function ue(e){e&&e.parentNode&&e.parentNode.removeChild(e)}function te(e,t,n){var o,s,r,l={};for(r in t)r=="key"?o=t[r]:r=="ref"?s=t[r]:l[r]=t[r];if(arguments.length>2&&(l.children=arguments.length>3?Z.call(arguments,2):n),typeof e=="function"&&e.defaultProps!=null)for(r in e.defaultProps)l[r]===void 0&&(l[r]=e.defaultProps[r]);return J(e,l,o,s,null)}function J(e,t,n,o,s){var r={type:e,props:t,key:n,ref:o,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:s??++Te,__i:-1,__u:0};return s==null&&$.vnode!=null&&$.vnode(r),r}function ne(e){return e.children}function q(e,t){this.props=e,this.context=t}function R(e,t){if(t==null)return e.__?R(e.__,e.__i+1):null;for(var n;t<e.__k.length;t++)if((n=e.__k[t])!=null&&n.__e!=null)return n.__e;return typeof e.type=="function"?R(e):null}function vt(e){if(e.__P&&e.__d){var t=e.__v,n=t.__e,o=[],s=[],r=E({},t);r.__v=t.__v+1,$.vnode&&$.vnode(r),de(e.__P,r,t,e.__n,e.__P.namespaceURI,32&t.__u?[n]:null,o,n??R(t),!!(32&t.__u),s),r.__v=t.__v,r.__.__k[r.__i]=r,Ne(o,r,s),t.__e=t.__=null,r.__e!=n&&De(r)}}function De(e){if((e=e.__)!=null&&e.__c!=null)return e.__e=e.__c.base=null,e.__k.some(function(t){if(t!=null&&t.__e!=null)return e.__e=e.__c.base=t.__e}),De(e)}function xe(e){(!e.__d&&(e.__d=!0)&&D.push(e)&&!Y.__r++||we!=$.debounceRendering)&&((we=$.debounceRendering)||Pe)(Y)}function Y(){try{for(var e,t=1;D.length;)D.length>t&&D.sort(Ee),e=D.shift(),t=D.length,vt(e)}finally{D.length=Y.__r=0}}function Ie(e,t,n,o,s,r,l,_,u,c,a){var d,i,p,m,w,y,k=o&&o.__k||X,h=t.length;for(u=bt(n,t,k,u,h),d=0;d<h;d++)(p=n.__k[d])!=null&&(i=p.__i!=-1&&k[p.__i]||Q,p.__i=d,y=de(e,p,i,s,r,l,_,u,c,a),m=p.__e,p.ref&&i.ref!=p.ref&&(i.ref&&pe(i.ref,null,p),a.push(p.ref,p.__c||m,p)),w==null&&m!=null&&(w=m),4&p.__u?(u=Re(p,u,e),i.__e&&(i.__e=null)):typeof p.type=="function"&&y!==void 0?u=y:m&&(u=m.nextSibling),p.__u&=-7);return n.__e=w,u}function bt(e,t,n,o,s){var r,l,_,u,c,a=n.length,d=a,i=0;for(e.__k=new Array(s),r=0;r<s;r++)(l=t[r])!=null&&typeof l!="boolean"&&typeof l!="function"?(typeof l=="string"||typeof l=="number"||typeof l=="bigint"||l.constructor==String?l=e.__k[r]=J(null,l,null,null,null):ee(l)?l=e.__k[r]=J(ne,{children:l},null,null,null):l.constructor===void 0&&l.__b>0?l=e.__k[r]=J(l.type,l.props,l.key,l.ref?l.ref:null,l.__v):e.__k[r]=l,u=r+i,l.__=e,l.__b=e.__b+1,_=null,(c=l.__i=yt(l,n,u,d))!=-1&&(d--,(_=n[c])&&(_.__u|=2)),_==null||_.__v==null?(c==-1&&(s>a?i--:s<a&&i++),typeof l.type!="function"&&(l.__u|=4)):c!=u&&(c==u-1?i--:c==u+1?i++:(c>u?i--:i++,l.__u|=4))):e.__k[r]=null;if(d)for(r=0;r<a;r++)(_=n[r])!=null&&(2&_.__u)==0&&(_.__e==o&&(o=R(_)),He(_,_));return o}function Re(e,t,n){var o,s;if(typeof e.type=="function"){for(o=e.__k,s=0;o&&s<o.length;s++)o[s]&&(o[s].__=e,t=Re(o[s],t,n));return t}e.__e!=t&&(t&&e.type&&!t.parentNode&&(t=R(e)),t=n.insertBefore(e.__e,t||null));do t=t&&t.nextSibling;while(t!=null&&t.nodeType==8);return t}function yt(e,t,n,o){var s,r,l,_=e.key,u=e.type,c=t[n],a=c!=null&&(2&c.__u)==0;if(c===null&&_==null||a&&_==c.key&&u==c.type)return n;if(o>(a?1:0)){for(s=n-1,r=n+1;s>=0||r<t.length;)if((c=t[l=s>=0?s--:r++])!=null&&(2&c.__u)==0&&_==c.key&&u==c.type)return l}return-1}function Se(e,t,n){t[0]=="-"?e.setProperty(t,n??""):e[t]=n==null?"":typeof n!="number"||gt.test(t)?n:n+"px"}function K(e,t,n,o,s){var r,l;e:if(t=="style")if(typeof n=="string")e.style.cssText=n;else{if(typeof o=="string"&&(e.style.cssText=o=""),o)for(t in o)n&&t in n||Se(e.style,t,"");if(n)for(t in n)o&&n[t]==o[t]||Se(e.style,t,n[t])}else if(t[0]=="o"&&t[1]=="n")r=t!=(t=t.replace(Me,"$1")),l=t.toLowerCase(),t=l in e||t=="onFocusOut"||t=="onFocusIn"?l.slice(2):t.slice(2),e.l||(e.l={}),e.l[t+r]=n,n?o?n[O]=o[O]:(n[O]=_e,e.addEventListener(t,r?ce:le,r)):e.removeEventListener(t,r?ce:le,r);else{if(s=="http://www.w3.org/2000/svg")t=t.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(t!="width"&&t!="height"&&t!="href"&&t!="list"&&t!="form"&&t!="tabIndex"&&t!="download"&&t!="rowSpan"&&t!="colSpan"&&t!="role"&&t!="popover"&&t in e)try{e[t]=n??"";break e}catch{}typeof n=="function"||(n==null||n===!1&&t[4]!="-"?e.removeAttribute(t):e.setAttribute(t,t=="popover"&&n==1?"":n))}}function Ce(e){return function(t){if(this.l){var n=this.l[t.type+e];if(t[G]==null)t[G]=_e++;else if(t[G]<n[O])return;return n($.event?$.event(t):t)}}}function de(e,t,n,o,s,r,l,_,u,c){var a,d,i,p,m,w,y,k,h,T,L,I,A,ke,V,ie,P=t.type;if(t.constructor!==void 0)return null;128&n.__u&&(u=!!(32&n.__u),r=[_=t.__e=n.__e]),(a=$.__b)&&a(t);e:if(typeof P=="function"){d=l.length;try{if(h=t.props,T=P.prototype&&P.prototype.render,L=(a=P.contextType)&&o[a.__c],I=a?L?L.props.value:a.__:o,n.__c?k=(i=t.__c=n.__c).__=i.__E:(T?t.__c=i=new P(h,I):(t.__c=i=new q(h,I),i.constructor=P,i.render=wt),L&&L.sub(i),i.state||(i.state={}),i.__n=o,p=i.__d=!0,i.__h=[],i._sb=[]),T&&i.__s==null&&(i.__s=i.state),T&&P.getDerivedStateFromProps!=null&&(i.__s==i.state&&(i.__s=E({},i.__s)),E(i.__s,P.getDerivedStateFromProps(h,i.__s))),m=i.props,w=i.state,i.__v=t,p)T&&P.getDerivedStateFromProps==null&&i.componentWillMount!=null&&i.componentWillMount(),T&&i.componentDidMount!=null&&i.__h.push(i.componentDidMount);else{if(T&&P.getDerivedStateFromProps==null&&h!==m&&i.componentWillReceiveProps!=null&&i.componentWillReceiveProps(h,I),t.__v==n.__v||!i.__e&&i.shouldComponentUpdate!=null&&i.shouldComponentUpdate(h,i.__s,I)===!1){t.__v!=n.__v&&(i.props=h,i.state=i.__s,i.__d=!1),t.__e=n.__e,t.__k=n.__k,t.__k.some(function(F){F&&(F.__=t)}),X.push.apply(i.__h,i._sb),i._sb=[],i.__h.length&&l.push(i),_=R(n);break e}i.componentWillUpdate!=null&&i.componentWillUpdate(h,i.__s,I),T&&i.componentDidUpdate!=null&&i.__h.push(function(){i.componentDidUpdate(m,w,y)})}if(i.context=I,i.props=h,i.__P=e,i.__e=!1,A=$.__r,ke=0,T)i.state=i.__s,i.__d=!1,A&&A(t),a=i.render(i.props,i.state,i.context),X.push.apply(i.__h,i._sb),i._sb=[];else do i.__d=!1,A&&A(t),a=i.render(i.props,i.state,i.context),i.state=i.__s;while(i.__d&&++ke<25);i.state=i.__s,i.getChildContext!=null&&(o=E(E({},o),i.getChildContext())),T&&!p&&i.getSnapshotBeforeUpdate!=null&&(y=i.getSnapshotBeforeUpdate(m,w)),V=a!=null&&a.type===ne&&a.key==null?Ue(a.props.children):a,_=Ie(e,ee(V)?V:[V],t,n,o,s,r,l,_,u,c),i.base=t.__e,t.__u&=-161,i.__h.length&&l.push(i),k&&(i.__E=i.__=null)}catch(F){if(l.length=d,t.__v=null,u||r!=null){if(F.then){for(t.__u|=u?160:128;_&&_.nodeType==8&&_.nextSibling;)_=_.nextSibling;r!=null&&(r[r.indexOf(_)]=null),t.__e=_}else if(r!=null)for(ie=r.length;ie--;)ue(r[ie])}else t.__e=n.__e;t.__k==null&&(t.__k=n.__k||[]),F.then||Fe(t),$.__e(F,t,n)}}else r==null&&t.__v==n.__v?(t.__k=n.__k,t.__e=n.__e):_=t.__e=kt(n.__e,t,n,o,s,r,l,u,c);return(a=$.diffed)&&a(t),128&t.__u?void 0:_}function Fe(e){e&&(e.__c&&(e.__c.__e=!0),e.__k&&e.__k.some(Fe))}function Ne(e,t,n){for(var o=0;o<n.length;o++)pe(n[o],n[++o],n[++o]);$.__c&&$.__c(t,e),e.some(function(s){try{e=s.__h,s.__h=[],e.some(function(r){r.call(s)})}catch(r){$.__e(r,s.__v)}})}function Ue(e){return typeof e!="object"||e==null||e.__b>0?e:ee(e)?e.map(Ue):e.constructor!==void 0?null:E({},e)}function kt(e,t,n,o,s,r,l,_,u){var c,a,d,i,p,m,w,y=n.props||Q,k=t.props,h=t.type;if(h=="svg"?s="http://www.w3.org/2000/svg":h=="math"?s="http://www.w3.org/1998/Math/MathML":s||(s="http://www.w3.org/1999/xhtml"),r!=null){for(c=0;c<r.length;c++)if((p=r[c])&&"setAttribute"in p==!!h&&(h?p.localName==h:p.nodeType==3)){e=p,r[c]=null;break}}if(e==null){if(h==null)return document.createTextNode(k);e=document.createElementNS(s,h,k.is&&k),_&&($.__m&&$.__m(t,r),_=!1),r=null}if(h==null)y===k||_&&e.data==k||(e.data=k);else{if(r=h=="textarea"&&k.defaultValue!=null?null:r&&Z.call(e.childNodes),!_&&r!=null)for(y={},c=0;c<e.attributes.length;c++)y[(p=e.attributes[c]).name]=p.value;for(c in y)p=y[c],c=="dangerouslySetInnerHTML"?d=p:c=="children"||c in k||c=="value"&&"defaultValue"in k||c=="checked"&&"defaultChecked"in k||K(e,c,null,p,s);for(c in k)p=k[c],c=="children"?i=p:c=="dangerouslySetInnerHTML"?a=p:c=="value"?m=p:c=="checked"?w=p:_&&typeof p!="function"||y[c]===p||K(e,c,p,y[c],s);if(a)_||d&&(a.__html==d.__html||a.__html==e.innerHTML)||(e.innerHTML=a.__html),t.__k=[];else if(d&&(e.innerHTML=""),Ie(t.type=="template"?e.content:e,ee(i)?i:[i],t,n,o,h=="foreignObject"?"http://www.w3.org/1999/xhtml":s,r,l,r?r[0]:n.__k&&R(n,0),_,u),r!=null)for(c=r.length;c--;)ue(r[c]);_&&h!="textarea"||(c="value",h=="progress"&&m==null?e.removeAttribute("value"):m!=null&&(m!==e[c]||h=="progress"&&!m||h=="option"&&m!=y[c])&&K(e,c,m,y[c],s),c="checked",w!=null&&w!=e[c]&&K(e,c,w,y[c],s))}return e}function pe(e,t,n){try{if(typeof e=="function"){var o=typeof e.__u=="function";o&&e.__u(),o&&t==null||(e.__u=e(t))}else e.current=t}catch(s){$.__e(s,n)}}function He(e,t,n){var o,s;if($.unmount&&$.unmount(e),(o=e.ref)&&(o.current&&o.current!=e.__e||pe(o,null,t)),(o=e.__c)!=null){if(o.componentWillUnmount)try{o.componentWillUnmount()}catch(r){$.__e(r,t)}o.base=o.__P=o.__n=null}if(o=e.__k)for(s=0;s<o.length;s++)o[s]&&He(o[s],t,n||typeof e.type!="function");n||ue(e.__e),e.__c=e.__=e.__e=void 0}function wt(e,t,n){return this.constructor(e,n)}function fe(e,t,n){var o,s,r,l;t==document&&(t=document.documentElement),$.__&&$.__(e,t),s=(o=typeof n=="function")?null:n&&n.__k||t.__k,r=[],l=[],de(t,e=(!o&&n||t).__k=te(ne,null,[e]),s||Q,Q,t.namespaceURI,!o&&n?[n]:s?null:t.firstChild?Z.call(t.childNodes):null,r,!o&&n?n:s?s.__e:t.firstChild,o,l),Ne(r,e,l),e.props.children=null}Z=X.slice,$={__e:function(e,t,n,o){for(var s,r,l;t=t.__;)if((s=t.__c)&&!s.__)try{if((r=s.constructor)&&r.getDerivedStateFromError!=null&&(s.setState(r.getDerivedStateFromError(e)),l=s.__d),s.componentDidCatch!=null&&(s.componentDidCatch(e,o||{}),l=s.__d),l)return s.__E=s}catch(_){e=_}throw e}},Te=0,mt=function(e){return e!=null&&e.constructor===void 0},q.prototype.setState=function(e,t){var n;n=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=E({},this.state),typeof e=="function"&&(e=e(E({},n),this.props)),e&&E(n,e),e!=null&&this.__v&&(t&&this._sb.push(t),xe(this))},q.prototype.forceUpdate=function(e){this.__v&&(this.__e=!0,e&&this.__h.push(e),xe(this))},q.prototype.render=ne,D=[],Pe=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,Ee=function(e,t){return e.__v.__b-t.__v.__b},Y.__r=0,ae=Math.random().toString(8),G="__d"+ae,O="__a"+ae,Me=/(PointerCapture)$|Capture$/i,_e=0,le=Ce(!1),ce=Ce(!0),$t=0;var B,v,he,Le,W=0,Ve=[],b=$,Ae=b.__b,Oe=b.__r,qe=b.diffed,Be=b.__c,We=b.unmount,ze=b.__;function $e(e,t){b.__h&&b.__h(v,e,W||t),W=0;var n=v.__H||(v.__H={__:[],__h:[]});return e>=n.__.length&&n.__.push({}),n.__[e]}function g(e){return W=1,xt(Qe,e)}function xt(e,t,n){var o=$e(B++,2);if(o.t=e,!o.__c&&(o.__=[n?n(t):Qe(void 0,t),function(_){var u=o.__N?o.__N[0]:o.__[0],c=o.t(u,_);u!==c&&(o.__N=[c,o.__[1]],o.__c.setState({}))}],o.__c=v,!v.__f)){var s=function(_,u,c){if(!o.__c.__H)return!0;var a=!1,d=o.__c.props!==_;if(o.__c.__H.__.some(function(p){if(p.__N){a=!0;var m=p.__[0];p.__=p.__N,p.__N=void 0,m!==p.__[0]&&(d=!0)}}),r){var i=r.call(this,_,u,c);return a?i||d:i}return!a||d};v.__f=!0;var r=v.shouldComponentUpdate,l=v.componentWillUpdate;v.componentWillUpdate=function(_,u,c){if(this.__e){var a=r;r=void 0,s(_,u,c),r=a}l&&l.call(this,_,u,c)},v.shouldComponentUpdate=s}return o.__N||o.__}function C(e,t){var n=$e(B++,3);!b.__s&&Je(n.__H,t)&&(n.__=e,n.u=t,v.__H.__h.push(n))}function z(e){return W=5,Ke(function(){return{current:e}},[])}function Ke(e,t){var n=$e(B++,7);return Je(n.__H,t)&&(n.__=e(),n.__H=t,n.__h=e),n.__}function Ge(e,t){return W=8,Ke(function(){return e},t)}function St(){for(var e;e=Ve.shift();){var t=e.__H;if(e.__P&&t)try{t.__h.some(re),t.__h.some(me),t.__h=[]}catch(n){t.__h=[],b.__e(n,e.__v)}}}b.__b=function(e){v=null,Ae&&Ae(e)},b.__=function(e,t){e&&t.__k&&t.__k.__m&&(e.__m=t.__k.__m),ze&&ze(e,t)},b.__r=function(e){Oe&&Oe(e),B=0;var t=(v=e.__c).__H;t&&(he===v?(t.__h=[],v.__h=[],t.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})):(t.__h.some(re),t.__h.some(me),t.__h=[],B=0)),he=v},b.diffed=function(e){qe&&qe(e);var t=e.__c;t&&t.__H&&(t.__H.__h.length&&(Ve.push(t)!==1&&Le===b.requestAnimationFrame||((Le=b.requestAnimationFrame)||Ct)(St)),t.__H.__.some(function(n){n.u&&(n.__H=n.u,n.u=void 0)})),he=v=null},b.__c=function(e,t){t.some(function(n){try{n.__h.some(re),n.__h=n.__h.filter(function(o){return!o.__||me(o)})}catch(o){t.some(function(s){s.__h&&(s.__h=[])}),t=[],b.__e(o,n.__v)}}),Be&&Be(e,t)},b.unmount=function(e){We&&We(e);var t,n=e.__c;n&&n.__H&&(n.__H.__.some(function(o){try{re(o)}catch(s){t=s}}),n.__H=void 0,t&&b.__e(t,n.__v))};var je=typeof requestAnimationFrame=="function";function Ct(e){var t,n=function(){clearTimeout(o),je&&cancelAnimationFrame(t),setTimeout(e)},o=setTimeout(n,35);je&&(t=requestAnimationFrame(n))}function re(e){var t=v,n=e.__c;typeof n=="function"&&(e.__c=void 0,n()),v=t}function me(e){var t=v;e.__c=e.__(),v=t}function Je(e,t){return!e||e.length!==t.length||t.some(function(n,o){return n!==e[o]})}function Qe(e,t){return typeof t=="function"?t(e):t}var Ye=function(e,t,n,o){var s;t[0]=0;for(var r=1;r<t.length;r++){var l=t[r++],_=t[r]?(t[0]|=l?1:2,n[t[r++]]):t[++r];l===3?o[0]=_:l===4?o[1]=Object.assign(o[1]||{},_):l===5?(o[1]=o[1]||{})[t[++r]]=_:l===6?o[1][t[++r]]+=_+"":l?(s=e.apply(_,Ye(e,_,n,["",null])),o.push(s),_[0]?t[0]|=2:(t[r-2]=0,t[r]=s)):o.push(_)}return o},Xe=new Map;function Ze(e){var t=Xe.get(this);return t||(t=new Map,Xe.set(this,t)),(t=Ye(this,t.get(e)||(t.set(e,t=(function(n){for(var o,s,r=1,l="",_="",u=[0],c=function(i){r===1&&(i||(l=l.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?u.push(0,i,l):r===3&&(i||l)?(u.push(3,i,l),r=2):r===2&&l==="..."&&i?u.push(4,i,0):r===2&&l&&!i?u.push(5,0,!0,l):r>=5&&((l||!i&&r===5)&&(u.push(r,0,l,s),r=6),i&&(u.push(r,i,0,s),r=6)),l=""},a=0;a<n.length;a++){a&&(r===1&&c(),c(a));for(var d=0;d<n[a].length;d++)o=n[a][d],r===1?o==="<"?(c(),u=[u],r=3):l+=o:r===4?l==="--"&&o===">"?(r=1,l=""):l=o+l[0]:_?o===_?_="":l+=o:o==='"'||o==="'"?_=o:o===">"?(c(),r=1):r&&(o==="="?(r=5,s=l,l=""):o==="/"&&(r<5||n[a][d+1]===">")?(c(),r===3&&(u=u[0]),r=u,(u=u[0]).push(2,0,r),r=0):o===" "||o==="	"||o===`
`||o==="\r"?(c(),r=2):l+=o),r===3&&l==="!--"&&(r=4,u=u[0])}return c(),u})(e)),t),arguments,[])).length>1?t:t[0]}var f=Ze.bind(te);var ge="kepler.token",M={get:()=>sessionStorage.getItem(ge),set:e=>sessionStorage.setItem(ge,e),clear:()=>sessionStorage.removeItem(ge)},j=class extends Error{constructor(t,n,o){super(o),this.status=t,this.code=n}},ve=()=>{};function et(e){ve=e}function Tt(e={}){let t=M.get();return t?{...e,Authorization:`Bearer ${t}`}:e}async function Pt(e){let t="http_"+e.status,n=e.statusText||`HTTP ${e.status}`;try{let s=await e.json();t=s.code??t,n=s.message??n}catch{}let o=new j(e.status,t,n);throw e.status===401&&ve(o),o}async function N(e,t={}){let n=await fetch(e,{...t,headers:Tt(t.headers)});return n.ok||await Pt(n),n}async function x(e,t={}){return(await N(e,t)).json()}function U(e){return e.split("/").map(encodeURIComponent).join("/")}var oe=(e,t)=>"/api/files/"+U(e)+(t?"?version="+encodeURIComponent(t):"");function tt(e,t,n){return new Promise((o,s)=>{let r=new XMLHttpRequest;r.open("PUT",oe(e));let l=M.get();l&&r.setRequestHeader("Authorization",`Bearer ${l}`),r.setRequestHeader("Content-Type","application/octet-stream"),r.upload.onprogress=_=>n(_.loaded,_.lengthComputable?_.total:t.size),r.onerror=()=>s(new j(0,"network","the upload failed: the connection was lost")),r.onload=()=>{let _=null;try{_=JSON.parse(r.responseText)}catch{}if(r.status>=200&&r.status<300){o(_);return}let u=new j(r.status,_?.code??"http_"+r.status,_?.message??r.statusText);r.status===401&&ve(u),s(u)},r.send(t)})}function nt(e,t){let n=new AbortController,o=1e3;return(async()=>{for(;!n.signal.aborted;){try{let r=await N("/api/events",{signal:n.signal});t("live"),o=1e3,await Et(r.body,e)}catch(r){if(n.signal.aborted||r.status===401)return}t("reconnecting"),await new Promise(r=>setTimeout(r,o)),o=Math.min(o*2,15e3)}})(),()=>n.abort()}async function Et(e,t){let n=e.pipeThrough(new TextDecoderStream).getReader(),o="";for(;;){let{value:s,done:r}=await n.read();if(r)return;o+=s;let l;for(;(l=o.indexOf(`

`))>=0;){let _=o.slice(0,l);o=o.slice(l+2);let u="message",c="";for(let a of _.split(`
`))a.startsWith("event: ")?u=a.slice(7):a.startsWith("data: ")&&(c+=a.slice(6));c&&t(u,JSON.parse(c).data)}}}function rt(e){let t={};for(let n of e.split(`
`)){if(!n||n.startsWith("#"))continue;let o=n.lastIndexOf(" "),s=n.indexOf("{"),r=s>0&&s<o?n.slice(0,s):n.slice(0,o);t[r]=(t[r]??0)+Number(n.slice(o+1))}return t}var ot=["B","KiB","MiB","GiB","TiB"];function S(e){if(e==null)return"\u2013";let t=e,n=0;for(;t>=1024&&n<ot.length-1;)t/=1024,n+=1;return`${n===0?t:t.toFixed(1)} ${ot[n]}`}function H(e){return e==null||!isFinite(e)?"\u2013":e<1?"<1 s":e<90?`${Math.round(e)} s`:e<5400?`${Math.round(e/60)} min`:`${(e/3600).toFixed(1)} h`}var st=e=>e.toLocaleTimeString([],{hour12:!1});function it(e){let t=Number(e.split(".")[0]);return isFinite(t)?new Date(t/1e3).toLocaleString([],{hour12:!1}):""}var Mt=1e3;function Dt(e,t){let n=new Set,o=[];for(let s of e){let r=s.path.slice(t.length),l=r.indexOf("/");l>=0?n.add(r.slice(0,l+1)):o.push(s)}return{folders:[...n],files:o}}var It=()=>f`
  <svg class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
    <path d="M1 3h5l2 2h7v8H1z" fill="currentColor" /></svg>`;function Rt({prefix:e}){let t=e.split("/").filter(Boolean);return f`
    <nav aria-label="Folder" class="crumbs">
      <a href="#/files/">All files</a>
      ${t.map((n,o)=>f` / <a href=${"#/files/"+U(t.slice(0,o+1).join("/"))+"/"}
        aria-current=${o===t.length-1?"location":void 0}>${n}</a>`)}
    </nav>`}function at({path:e,version:t,label:n,name:o}){let[s,r]=g(null),l=oe(e,t),_=e.split("/").pop();return M.get()?f`<a href=${l} onClick=${async c=>{c.preventDefault(),r(null);try{let a=await x("/api/download-url",{method:"POST",headers:{"Content-Type":"application/json"},body:JSON.stringify(t?{path:e,version:t}:{path:e})});Object.assign(document.createElement("a"),{href:a.url,download:_}).click()}catch(a){r(a.message)}}} aria-label=${`${n} ${o}`}>${n}</a>
    ${s&&f` <span class="error" role="alert">${s}</span>`}`:f`<a href=${l} download=${_} aria-label=${`${n} ${o}`}>${n}</a>`}function Ft({path:e}){let[t,n]=g(null),[o,s]=g(null);return C(()=>{x("/api/versions/"+U(e)).then(n).catch(r=>s(r.message))},[e]),o?f`<p class="error" role="alert">${o}</p>`:t?f`
    <div class="scroll">
      <table class="versions" aria-label=${"Versions of "+e}>
        <thead><tr><th>Kind</th><th>Version token</th><th>Written</th><th>Origin</th><th>Size</th>
          <th>Content id</th><th><span class="sr">Read</span></th></tr></thead>
        <tbody>
          ${t.map(r=>f`
            <tr>
              <td>${r.isTombstone?"deleted":r.isWinner?"current":"conflict"}</td>
              <td><code>${r.version}</code></td>
              <td>${it(r.version)}</td>
              <td>${r.origin}</td>
              <td>${r.isTombstone?"\u2013":S(r.sizeBytes)}</td>
              <td><code title=${r.contentId}>${r.contentId.slice(0,12)}…</code></td>
              <td>${!r.isTombstone&&f`<${at} path=${e} version=${r.version}
                label="Read" name=${`version ${r.version}`} />`}</td>
            </tr>`)}
        </tbody>
      </table>
    </div>`:f`<p>Loading versions…</p>`}function Nt({file:e,name:t,onDeleted:n}){let[o,s]=g(!1),[r,l]=g(null),_=async()=>{if(confirm(`Delete ${e.path}?`))try{await N(oe(e.path),{method:"DELETE"}),n()}catch(u){l(u.message)}};return f`
    <tr class="file">
      <td class="name">${t}</td>
      <td>${S(e.sizeBytes)}</td>
      <td class="wide"><code title=${e.version}>${e.version}</code></td>
      <td class="wide">${e.origin}</td>
      <td class="actions">
        <${at} path=${e.path} label="Download" name=${t} />
        <button type="button" aria-expanded=${o} aria-label=${"Versions of "+t}
          onClick=${()=>s(!o)}>Versions</button>
        <button type="button" class="danger" aria-label=${"Delete "+t} onClick=${_}>Delete</button>
      </td>
    </tr>
    ${r&&f`<tr><td colspan="5" class="error" role="alert">${r}</td></tr>`}
    ${o&&f`<tr><td colspan="5"><${Ft} path=${e.path} /></td></tr>`}`}function Ut({prefix:e,onUploaded:t}){let[n,o]=g([]),[s,r]=g(!1),l=z(null),_=(a,d)=>o(i=>i.map(p=>p.id===a?{...p,...d}:p)),u=async a=>{let d=[...a].map((i,p)=>({id:`${Date.now()}-${p}`,file:i,path:e+i.name,sent:0,total:i.size,state:"waiting"}));o(i=>[...d,...i]);for(let i of d){_(i.id,{state:"uploading"});try{await tt(i.path,i.file,(p,m)=>_(i.id,{sent:p,total:m})),_(i.id,{state:"done",sent:i.file.size}),t()}catch(p){_(i.id,{state:"failed",error:p.message})}}},c=a=>{a.preventDefault(),r(!1),a.dataTransfer?.files?.length&&u(a.dataTransfer.files)};return f`
    <section class=${"drop"+(s?" over":"")} aria-label="Upload"
      onDragOver=${a=>{a.preventDefault(),r(!0)}}
      onDragLeave=${()=>r(!1)} onDrop=${c}>
      <p>Drop files here to upload them to <code>/${e}</code>, or</p>
      <label class="button" for="upload-input">Choose files…</label>
      <input id="upload-input" ref=${l} type="file" multiple class="sr"
        onChange=${a=>{u(a.target.files),a.target.value=""}} />
      ${n.length>0&&f`
        <ul class="uploads" aria-label="Uploads">
          ${n.map(a=>f`
            <li class=${a.state}>
              <span class="name">${a.file.name}</span>
              <progress max=${a.total||1} value=${a.sent} aria-label=${"Upload of "+a.file.name}></progress>
              <span class="state">${a.state==="failed"?"failed: "+a.error:a.state==="done"?"done":`${S(a.sent)} / ${S(a.total)}`}</span>
            </li>`)}
        </ul>`}
    </section>`}function lt({prefix:e}){let[t,n]=g({folders:[],files:[],next:null}),[o,s]=g(null),[r,l]=g(!0),_=Ge(async(c=null)=>{l(!0);try{let a=`?limit=${Mt}`+(c?"&after="+encodeURIComponent(c):""),d=await x("/api/files/"+U(e)+a),i=Dt(d.files,e);n(p=>({folders:c?[...new Set([...p.folders,...i.folders])]:i.folders,files:c?[...p.files,...i.files]:i.files,next:d.next})),s(null)}catch(a){s(a.message)}finally{l(!1)}},[e]);C(()=>{_()},[_]);let u=!r&&t.folders.length===0&&t.files.length===0;return f`
    <h1>Files</h1>
    <${Rt} prefix=${e} />
    <${Ut} prefix=${e} onUploaded=${()=>_()} />
    <div class="toolbar">
      <button type="button" onClick=${()=>_()}>Refresh</button>
      <span role="status">${r?"Loading\u2026":`${t.folders.length} folders, ${t.files.length} files`}</span>
    </div>
    ${o&&f`<p class="error" role="alert">${o}</p>`}
    ${u&&f`<p>No files here yet.</p>`}
    <div class="scroll">
      <table class="files" aria-label="Files and folders">
        <thead><tr><th>Name</th><th>Size</th><th class="wide">Version</th><th class="wide">Origin</th>
          <th><span class="sr">Actions</span></th></tr></thead>
        <tbody>
          ${t.folders.map(c=>f`
            <tr class="folder"><td colspan="5">
              <a href=${"#/files/"+U(e+c)}><${It} />${c}</a></td></tr>`)}
          ${t.files.map(c=>f`<${Nt} key=${c.path} file=${c}
            name=${c.path.slice(e.length)} onDeleted=${()=>_()} />`)}
        </tbody>
      </table>
    </div>
    ${t.next&&f`<button type="button" onClick=${()=>_(t.next)}>Load more</button>`}`}var ct=["#2f6fdf","#d9480f","#2b8a3e","#ae3ec9","#e67700","#0c8599","#c2255c","#5c940d"],Ht=1e3,be=(e,t)=>ct[Math.max(0,e.indexOf(t))%ct.length];function Lt(e){let[t,n]=g(null),[o,s]=g(null),r=z(null);return C(()=>{let l=!1,_=async()=>{try{let[d,i,p,m,w]=await Promise.all([x("/api/members"),x("/api/ui/cluster"),x("/api/ring"),x("/api/replication"),x("/api/under-replicated?limit=256")]);l||(n({members:d,ui:i,ring:p,replication:m,under:w}),s(null))}catch(d){l||s(d.message)}},u=()=>{clearTimeout(r.current),r.current=setTimeout(_,100)},c=d=>{(d.startsWith("member.")||d.startsWith("ring.")||d.startsWith("replication."))&&u()};e.listeners.add(c),_();let a=setInterval(_,Ht);return()=>{l=!0,e.listeners.delete(c),clearInterval(a),clearTimeout(r.current)}},[e]),[t,o]}function At(e){if(e.self)return"this node";let t=e.lastHeardSecondsAgo;return t==null?"\u2013":`${H(t)} ago`}function Ot({members:e,ui:t,nodes:n}){let o=Object.fromEntries(t.members.map(s=>[s.id,s.stateForSeconds]));return f`
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <div class="scroll">
        <table class="members" aria-label="Members">
          <thead><tr><th>Node</th><th>State</th><th>Incarnation</th><th>Last heard</th><th>In state for</th>
            <th class="wide">Gossip</th><th class="wide">Ring</th></tr></thead>
          <tbody>
            ${e.map(s=>f`
              <tr data-member=${s.id}>
                <td><span class="swatch" style=${"background:"+be(n,s.id)}></span>
                  ${s.id}${s.self?" (this node)":""}</td>
                <td><span class=${"badge "+s.state} data-state=${s.state}>${s.state}</span></td>
                <td>${s.incarnation}</td>
                <td data-heard=${s.lastHeardSecondsAgo??""}>${At(s)}</td>
                <td>${o[s.id]===void 0?"\u2013":H(o[s.id])}</td>
                <td class="wide"><code>${s.gossip}</code></td>
                <td class="wide">${s.inRing?"owns data":"not in ring"}</td>
              </tr>`)}
          </tbody>
        </table>
      </div>
    </section>`}function qt({ui:e,ring:t,nodes:n}){let r=Math.max(1,t.replicationFactor),l=Math.min(26,80/r),_=(a,d)=>{let i=d/360*2*Math.PI-Math.PI/2;return[130+a*Math.cos(i),130+a*Math.sin(i)]},u=(a,d,i)=>{let[p,m]=_(a,d),[w,y]=_(a,i===d+360?i-.01:i);return`M ${p} ${m} A ${a} ${a} 0 ${i-d>180?1:0} 1 ${w} ${y}`},c=t.nodes.map(a=>`${a.id} owns ${(a.primaryShare*100).toFixed(1)} % as primary, ${(a.share*100).toFixed(1)} % of replicas`).join("; ");return f`
    <section aria-labelledby="ring-title" class="ring">
      <h2 id="ring-title">Ring</h2>
      <svg viewBox=${"0 0 260 260"} role="img" aria-label=${"Ring: "+(c||"empty")}>
        <circle cx=${130} cy=${130} r=${126} class="ring-outline" />
        ${e.ring.flatMap(a=>a.owners.map((d,i)=>f`
          <path d=${u(122-i*(l+3)-l/2,a.from,a.to)}
            stroke=${be(n,d)} stroke-width=${l} fill="none">
            <title>${`${d}: replica ${i+1} of ${a.from}\xB0\u2013${a.to}\xB0`}</title>
          </path>`))}
        <text x=${130} y=${130} text-anchor="middle" class="ring-label">
          ${`${t.nodes.length} node${t.nodes.length===1?"":"s"} \xB7 N=${t.replicationFactor}`}</text>
      </svg>
      <ul class="legend">
        ${t.nodes.map(a=>f`
          <li><span class="swatch" style=${"background:"+be(n,a.id)}></span>
            ${a.id}: ${(a.primaryShare*100).toFixed(1)} % primary, ${(a.share*100).toFixed(1)} % of copies</li>`)}
      </ul>
      <p class="hint">Outer band: primary owner; inner bands: further replicas (sampled at 1°).</p>
    </section>`}function Bt({under:e}){let t={};for(let o of e.chunks)t[o.copies]=(t[o.copies]??0)+1;let n=Object.keys(t).map(Number).sort((o,s)=>o-s);return f`
    <section aria-labelledby="copies-title">
      <h2 id="copies-title">Copies per chunk</h2>
      <p>${e.referencedChunks} chunks referenced by live files; target N = ${e.replicationTarget}.</p>
      ${e.total===0?f`<p class="ok">No chunk this node placed is waiting for a copy: all have their N.</p>`:f`
          <p>${e.total} chunks still need copies${e.truncated?" (first 256 shown)":""}:</p>
          <ul class="copies">
            ${n.map(o=>f`<li><strong>${t[o]}</strong>${` with ${o} of ${e.replicationTarget} copies`}</li>`)}
          </ul>`}
    </section>`}function Wt({replication:e}){let t=z(0),n=e.progress,o=e.queueDepth===0?0:n?.chunksLeft??e.underReplicated;t.current=o===0?0:Math.max(t.current,o);let s=t.current===0?1:1-o/t.current;return f`
    <section aria-labelledby="repair-title">
      <h2 id="repair-title">Replication and repair</h2>
      <dl class="facts">
        <dt>Queue</dt><dd>${e.queueDepth} entries (${S(e.queueBytes)})</dd>
        <dt>Under-replicated</dt><dd>${e.underReplicated} chunks</dd>
        <dt>Rate</dt><dd>${n?`${n.chunksPerSecond.toFixed(1)} chunks/s`:"\u2013"}</dd>
        <dt>ETA</dt><dd>${o===0?"done":n?H(n.etaMicroseconds/1e6):"\u2013"}</dd>
        <dt>Replicated</dt><dd>${e.chunksReplicated} (${e.replicationFailures} failed tries)</dd>
        <dt>Scrub</dt><dd>${`${e.scrub.verified} verified, ${e.scrub.found} bad, ${e.scrub.repaired} repaired`}</dd>
      </dl>
      <progress max="1" value=${s} aria-label="Repair progress"></progress>
      <span> ${o===0?"nothing left to copy":`${o} chunks left (${S(n?.bytesLeft)})`}</span>
    </section>`}function _t({events:e}){let[t,n]=Lt(e);if(!t)return f`<h1>Cluster</h1>${n?f`<p class="error" role="alert">${n}</p>`:f`<p>Loading…</p>`}`;let o=[...new Set([...t.members.map(s=>s.id),...t.ring.nodes.map(s=>s.id)])].sort();return f`
    <h1>Cluster</h1>
    ${n&&f`<p class="error" role="alert">${n}</p>`}
    <div class="grid">
      <${Ot} members=${t.members} ui=${t.ui} nodes=${o} />
      <${qt} ui=${t.ui} ring=${t.ring} nodes=${o} />
      <${Wt} replication=${t.replication} />
      <${Bt} under=${t.under} />
    </div>`}var ut=2e3,zt=60,dt=[{name:"kepler_http_requests_total",label:"HTTP requests/s",rate:!0},{name:"kepler_http_received_bytes_total",label:"Upload bytes/s",rate:!0,bytes:!0},{name:"kepler_http_sent_bytes_total",label:"Download bytes/s",rate:!0,bytes:!0},{name:"kepler_stream_sent_bytes_total",label:"Peer transfer out/s",rate:!0,bytes:!0},{name:"kepler_replication_queue_depth",label:"Replication queue"},{name:"kepler_loop_queue_depth",label:"Loop queue"}];function jt({values:e,label:t,format:n}){let r=Math.max(1,...e),l=160/Math.max(1,e.length-1),_=e.map((c,a)=>`${160-(e.length-1-a)*l},${34-c/r*32}`).join(" "),u=e.length?e[e.length-1]:null;return f`
    <figure class="spark">
      <svg viewBox=${"0 0 160 36"} role="img"
        aria-label=${`${t}: now ${u===null?"no data":n(u)}, peak ${n(r)}`}>
        <polyline points=${_} fill="none" stroke="currentColor" stroke-width="1.5" />
      </svg>
      <figcaption>${t}: <strong>${u===null?"\u2013":n(u)}</strong></figcaption>
    </figure>`}function Vt(){let[e,t]=g({});return C(()=>{let n=null,o=async()=>{try{let r=rt(await(await N("/metrics")).text()),l=performance.now();if(n){let _=(l-n.at)/1e3;t(u=>Object.fromEntries(dt.map(c=>{let a=c.rate?Math.max(0,((r[c.name]??0)-(n.totals[c.name]??0))/_):r[c.name]??0;return[c.name,[...u[c.name]??[],a].slice(-zt)]})))}n={at:l,totals:r}}catch{}};o();let s=setInterval(o,ut);return()=>clearInterval(s)},[]),e}function Kt(e){let[t,n]=g(e.list);return C(()=>{let o=()=>n(e.list);return e.listeners.add(o),()=>e.listeners.delete(o)},[e]),t}function Gt({status:e,disk:t}){let n=t?.quotaBytes;return f`
    <section aria-labelledby="node-title">
      <h2 id="node-title">${e.nodeId}</h2>
      <dl class="facts">
        <dt>State</dt><dd>${e.ready?"ready":"recovering"}, up ${H(e.uptimeSeconds)}</dd>
        <dt>Free disk</dt><dd>${S(e.freeBytes)}</dd>
        <dt>Disk quota</dt><dd>${n?f`${S(t.usedBytes)} of ${S(n)} used
          <progress max=${n} value=${t.usedBytes} aria-label="Disk quota used"></progress>`:"none (MAX_DISK_MB unset)"}</dd>
        <dt>Queue depth</dt><dd>${e.queueDepth}</dd>
        <dt>Chunks written</dt><dd>${e.chunksWritten}</dd>
        <dt>Members</dt><dd>${e.members} in ring, ${e.knownMembers} known (${e.membership})</dd>
        <dt>Replication</dt><dd>N = ${e.replicationTarget} (factor ${e.replicationFactorRequested})</dd>
        <dt>Chunk size</dt><dd>${S(e.chunkSizeBytes)}</dd>
        <dt>HTTP</dt><dd><code>${e.http}</code></dd>
        <dt>Gossip</dt><dd><code>${e.gossip}</code></dd>
        <dt>Transfer</dt><dd><code>${e.transfer}</code></dd>
        <dt>Data dir</dt><dd><code>${e.dataDir}</code></dd>
        <dt>Version</dt><dd>${e.version}</dd>
      </dl>
    </section>`}function pt({events:e}){let[t,n]=g(null),[o,s]=g(null),[r,l]=g(null),_=Vt(),u=Kt(e);return C(()=>{let c=()=>Promise.all([x("/api/status"),x("/api/ui/cluster")]).then(([d,i])=>{n(d),s(i.disk),l(null)}).catch(d=>l(d.message));c();let a=setInterval(c,ut);return()=>clearInterval(a)},[]),f`
    <h1>Node</h1>
    ${r&&f`<p class="error" role="alert">${r}</p>`}
    <div class="grid">
      ${t?f`<${Gt} status=${t} disk=${o} />`:f`<p>Loading…</p>`}
      <section aria-labelledby="metrics-title">
        <h2 id="metrics-title">Metrics (last 2 min)</h2>
        <div class="sparks">
          ${dt.map(c=>f`<${jt} values=${_[c.name]??[]} label=${c.label}
            format=${c.bytes?a=>S(Math.round(a)):a=>c.rate?a.toFixed(1):String(a)} />`)}
        </div>
      </section>
      <section aria-labelledby="events-title" class="events">
        <h2 id="events-title">Recent events</h2>
        ${u.length===0?f`<p>No events since this page opened.</p>`:f`
          <ol class="events" aria-label="Recent events, newest first">
            ${u.slice(0,50).map(c=>f`
              <li><time>${st(c.at)}</time> <strong>${c.kind}</strong>
                <code>${JSON.stringify(c.data)}</code></li>`)}
          </ol>`}
      </section>
    </div>`}var ye=[["files","Files"],["cluster","Cluster"],["node","Node"]];function ft(){let e=decodeURIComponent(location.hash.replace(/^#\/?/,"")),t=e.indexOf("/"),n=t<0?e:e.slice(0,t),o=t<0?"":e.slice(t+1);return ye.some(([s])=>s===n)?[n,o]:["files",""]}var Jt=200,se={list:[],listeners:new Set,state:"connecting",add(e,t){this.list=[{at:new Date,kind:e,data:t},...this.list].slice(0,Jt),this.listeners.forEach(n=>n(e,t))}};function Qt({error:e,onToken:t}){let[n,o]=g("");return f`
    <main class="login" id="main">
      <h1>KeplerFS</h1>
      <form onSubmit=${r=>{r.preventDefault(),n.trim()&&t(n.trim())}}>
        <p>This node's API needs a token (API_TOKENS). It is kept for this browser tab only.</p>
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="current-password" required
          value=${n} onInput=${r=>o(r.target.value)} />
        <button type="submit">Sign in</button>
        ${e&&f`<p class="error" role="alert">${e}</p>`}
      </form>
    </main>`}function Xt(){let[[e,t],n]=g(ft()),[o,s]=g(null),[r,l]=g(null),[_,u]=g("connecting");if(C(()=>{let a=()=>n(ft());return addEventListener("hashchange",a),et(d=>l(i=>M.get()?i&&d.code==="http_401"?i:d.message:"")),()=>removeEventListener("hashchange",a)},[]),C(()=>{if(r===null)return x("/api/status").then(s).catch(()=>{}),nt((a,d)=>se.add(a,d),a=>{se.state=a,u(a)})},[r]),C(()=>{let a=ye.find(([d])=>d===e)[1];document.title=`${a} \xB7 ${o?.nodeId??"KeplerFS"}`},[e,o]),r!==null)return f`<${Qt} error=${r} onToken=${a=>{M.set(a),l(null)}} />`;let c=()=>{M.clear(),l("")};return f`
    <a class="skip" href="#main" onClick=${a=>{a.preventDefault(),document.getElementById("main")?.focus()}}>Skip to content</a>
    <header>
      <span class="brand">KeplerFS <span class="node-id" title="this node">${o?.nodeId??""}</span></span>
      <nav aria-label="Pages">
        ${ye.map(([a,d])=>f`
          <a href=${"#/"+a} aria-current=${e===a?"page":void 0}>${d}</a>`)}
      </nav>
      <span class=${"live "+_} role="status" aria-label=${"events "+_}>${_}</span>
      ${M.get()&&f`<button type="button" class="link" onClick=${c}>Sign out</button>`}
      <a class="docs" href="/docs/">API</a>
    </header>
    <main id="main" tabindex="-1">
      ${e==="files"&&f`<${lt} prefix=${t} />`}
      ${e==="cluster"&&f`<${_t} events=${se} />`}
      ${e==="node"&&f`<${pt} events=${se} />`}
    </main>`}var ht=document.getElementById("app");ht.textContent="";fe(f`<${Xt} />`,ht);
